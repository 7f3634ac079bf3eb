"""One level's reports read into its windows as they come, one at a time (issue 18, a poll's peak of memory).

A poll's reports come back in any order, each while the others are still on their way. Each is read into the
level's windows as soon as it comes and then let go: a 100,000-ad report's columns are some 18 MB, and read only
after every list and report had come, all of a poll's reports were alive at once (the peak of a warm poll). Two
reports of a level are never read in at the same time: the first one read makes each entity's dict of windows
(and :class:`~monitor.fetch_states.Aligned`'s rows), later ones fill them, and two at once would each make some
of those dicts (windows lost). An async report's CSV is read (parsed) here too, in a thread, when its turn comes
(:meth:`~monitor.tiktok.report_table.Report.table_off_loop`): an ad report that waited for the ad list waited as
text. A report whose body cannot be read is that report's error, like a failed call: its window is missing.
"""

from __future__ import annotations

import asyncio

from monitor.domain import Level
from monitor.fetch_distinct import join_distinct
from monitor.fetch_hours import HourlyRows
from monitor.fetch_states import Aligned, Windows, join_window
from monitor.tiktok.distinct_csv import KnownIds
from monitor.tiktok.errors import ApiError, AuthError
from monitor.tiktok.models import SMART_PLUS_AD_DIMENSION, Report

__all__ = ["LevelReports"]


class LevelReports:
    """The windows (:attr:`windows`, entity id -> window -> values) and hourly rows (:attr:`hours`) of one
    level's reports read in so far; :meth:`join` and :meth:`add_hours` take one report at a time."""

    def __init__(self, level: Level) -> None:
        self.level = level
        self.windows: Windows = {}
        self.hours = HourlyRows()
        self._aligned = Aligned()
        self._known: KnownIds | None = None
        self._keys = {level.id_field, SMART_PLUS_AD_DIMENSION} if level is Level.AD else {level.id_field}
        self._turn = asyncio.Lock()

    async def join(self, report: Report, window: str, wanted: tuple[str, ...]) -> bool | ApiError:
        """Read ``report`` into ``window`` of the entities' windows (:func:`~monitor.fetch_states.join_window`):
        whether every float it put is finite, or the error of a body that could not be read (nothing put)."""
        async with self._turn:
            rows = await report.distinct_off_loop(self._known)
            if rows is not None and rows.dimension in self._keys:
                finite = await join_distinct(self.windows, rows, self.level, window, wanted, aligned=self._aligned)
            else:
                del rows
                if (failed := await _read(report)) is not None:
                    return failed
                table = report.table
                finite = await join_window(self.windows, table, self.level, window, wanted, aligned=self._aligned)
            ids = self._aligned.ids
            if ids is not None and (self._known is None or self._known.ids is not ids):
                self._known = KnownIds(ids)  # (the aligned report's: later ones likely list them again)
            return finite

    async def add_hours(self, report: Report) -> ApiError | None:
        """Take an hourly report's rows (:meth:`HourlyRows.add`, off the event loop: 24 rows per entity); the
        error of a body that could not be read."""
        id_of = (SMART_PLUS_AD_DIMENSION, self.level.id_field) if self.level is Level.AD else self.level.id_field
        async with self._turn:
            if (failed := await _read(report)) is not None:
                return failed
            await asyncio.to_thread(self.hours.add, report, id_of)
        return None


async def _read(report: Report) -> ApiError | None:
    """Read ``report``'s body (off the event loop); the error of one that cannot be read (auth errors raise)."""
    try:
        await report.table_off_loop()
    except AuthError:
        raise
    except ApiError as exc:
        return exc
    return None
