"""Sync reports of up to 5 advertisers in one call: report/integrated/get/ over ``advertiser_ids`` (issue 18,
item 4 "minimal calls"; tiktok-api.md §7.1, §12).

A small advertiser's poll costs one report call per rule window, most of them a page of a few rows. Polls run
together (``once`` starts them all at once; in ``run`` polls overlap when they take long), so their reports of
the same shape arrive together: :class:`ReportBatcher` gathers the requests that are equal but for the
advertiser (level, dimensions, metrics, dates or lifetime, filters, page size: one :func:`batch_key`) for a
short moment (until none joined for :data:`GATHER_SECONDS`, at most :data:`MOST_SECONDS`, or until 5
advertisers asked; no wait while no other advertiser is active) and sends them as one request over
``advertiser_ids``. The answer lists each account's rows; the ``advertiser_id`` metric (added to the request)
says whose each row is, and each poll gets the rows of its advertiser, without that metric unless it asked for
it.
Dates are each account's own local dates (TikTok computes each account in its own time zone), so only requests
with equal dates are combined: the key holds them. A combined call is meant to read one page: each request says how
many rows its answer likely holds (the entities its poll knows of at that level; no estimate on a first poll,
nor for hourly reports, whose rows are hours), a group takes no more than a page of them by those estimates, and
a report of a page or more goes alone (with others it would take a page more and share nothing:
bench/cycle.py's account of 1,000 ad groups and four small ones took 2 pages, and the four could share a fifth's).

**Anything unexpected falls back to one call per advertiser** (each poll makes its own, as without combining):
an error of the combined call, a capped answer (the 20,000-ad cap applies across the advertisers: an ad-level
request says how many ads it covers, as far as its poll knows, and a group takes no more than that), a row without
an ``advertiser_id`` or naming one not asked for. A refusal (a permanent API error such as 40002) is remembered
where it says so: for the advertisers its message names (no permission, another user's account: they go alone),
else for the request's shape (:func:`shape_key`: the key without dates); an answer this module cannot read turns
combining off for the client: a real API that does not combine costs one failed call per shape, not one per
poll; each is logged once. Auth and transient errors are not remembered (the singles meet them again).

**Money values** and the split of an answer back by advertiser: :mod:`monitor.tiktok.combined_rows`.

**Calls** (:mod:`monitor.tiktok.callcount`): a combined request is sent in the context of the poll whose request
opened the group, so it counts once, in that poll (and every counter around it, e.g. a whole ``once``); the
others' reports it answered cost them no call. The sum over polls stays the number of requests sent. The
limiter sees one request (for the first advertiser's id); the shared budget one token.

A poll cancelled while it waits leaves the group: the others get their rows (or go alone); a group whose
members all left is not sent.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from monitor.tiktok.combined_rows import OWNER_METRIC, Combined, CombinedRead, batch_key, shape_key, split_rows
from monitor.tiktok.errors import ApiError, BadResponseError, PermanentApiError
from monitor.tiktok.models import Report, ReportQuery, ReportRow

__all__ = [
    "GATHER_SECONDS",
    "MAX_ADVERTISERS",
    "OWNER_METRIC",
    "Combined",
    "ReportBatcher",
    "batch_key",
    "shape_key",
    "split_rows",
]

log = logging.getLogger(__name__)

#: The most advertisers one report/integrated/get/ may cover (``advertiser_ids``).
MAX_ADVERTISERS = 5
#: A group leaves once no other advertiser joined it for this long (or when 5 did). Polls that run together send
#: their reports at once (a first poll its ad-level reports once its ad list came back: monitor.fetch_ad_reports),
#: so a short gather combines them (bench/cycle.py's warm ``once``: 50 calls, the least possible). A first poll's
#: ad reports come in waves about one limiter window (1.1 s) apart at 10 requests a second: waiting 1.5 s (at
#: most 3) combined nearly all of them too (54 calls against 76-98 at 0.2 s, before later polls started their ad
#: reports at once), but made the polls of a dense ``run`` (8 advertisers every 4 s,
#: tests/daemon/test_daemon_replicas.py) outlast their interval. A group waits only while other advertisers are
#: active (:data:`ACTIVE_SECONDS`): a poll alone does not wait.
GATHER_SECONDS = 0.2
#: The longest a group waits for more advertisers, however often they keep joining.
MOST_SECONDS = 1.0
#: Another advertiser that asked for or got a report this recently has a poll under way: a group waits for
#: others only then (or while one reads a report), so a poll alone (``run``'s polls have phases of their own in
#: the interval) does not wait.
ACTIVE_SECONDS = 2.0


@dataclass
class _Group:
    """Requests of one key waiting to be sent: per advertiser, the futures of the polls that asked."""

    query: ReportQuery
    page_size: int
    context: contextvars.Context  # the first request's: the combined call counts in its poll
    deadline: float  # loop time when it leaves at the latest
    waiting: dict[str, list[asyncio.Future[Report | None]]] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None
    #: per advertiser, the ads its report covers and the rows it likely holds (as far as known; 0: not known)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


class ReportBatcher:
    """Gathers sync report requests that differ only in the advertiser and sends them over ``advertiser_ids``
    (see the module docstring). One per client; ``read`` is the client's combined read."""

    def __init__(self, read: CombinedRead, *, gather: float = GATHER_SECONDS, most: float = MOST_SECONDS) -> None:
        self._read = read
        self._gather = gather
        self._most = max(most, gather)
        self._open: dict[str, _Group] = {}
        self._refused: set[str] = set()  # shape keys the API refused to combine
        self._apart: set[str] = set()  # advertisers a refusal named (another user's, no permission, ...)
        self._off: str | None = None  # why combining is off for this client (an answer it could not read)
        self._sending: set[asyncio.Task[None]] = set()
        self._busy: dict[str, int] = {}  # advertiser -> its report requests in progress here (waiting or reading)
        self._latest: list[tuple[str, float]] = []  # the two advertisers last active here, and when (loop time)
        #: Combined reports read and shared out, and the polls' requests they answered (tests, benchmarks).
        self.sent = 0
        self.answered = 0

    @property
    def off(self) -> str | None:
        """Why this client no longer combines reports (None: it does)."""
        return self._off

    def refused(self, query: ReportQuery, advertiser_id: str | None = None) -> bool:
        """Whether requests of ``query``'s shape (of ``advertiser_id``) go alone: the API refused to combine them
        (or to combine that advertiser with others), or combining is off."""
        return self._off is not None or advertiser_id in self._apart or shape_key(query) in self._refused

    async def report(
        self,
        advertiser_id: str,
        query: ReportQuery,
        page_size: int,
        alone: Callable[[], Awaitable[Report]],
        *,
        ads: int | None = None,
        cap: int | None = None,
        rows: int | None = None,
    ) -> Report:
        """``advertiser_id``'s report of ``query``: from a combined call when others ask for the same within the
        moment, else (or when combining fails) from ``alone()``, the single-advertiser read. ``ads``: how many ads
        the report covers (an ad-level report: the advertiser's ads, as far as known); a combined call covers at
        most ``cap`` ads in all (TikTok caps the sync report across the advertisers). ``rows``: how many rows its
        answer likely holds (the entities of the level its poll knows of); a combined call reads one page, so a
        report of a page or more goes alone (with others it would take a page more, and share nothing). A group
        that would pass either bound with this advertiser leaves without it, and it opens the next."""
        too_many_ads = ads is not None and cap is not None and ads > cap
        if self.refused(query, advertiser_id) or too_many_ads or (rows is not None and rows >= page_size):
            return await alone()
        busy, loop = self._busy, asyncio.get_running_loop()
        busy[advertiser_id] = busy.get(advertiser_id, 0) + 1
        try:
            future: asyncio.Future[Report | None] = loop.create_future()
            self._join(advertiser_id, query, page_size, future, (ads or 0, rows or 0), cap)
            report = await future
            return report if report is not None else await alone()
        finally:
            if busy[advertiser_id] > 1:
                busy[advertiser_id] -= 1
            else:
                del busy[advertiser_id]
            self._seen(advertiser_id, loop.time())

    def _join(
        self,
        advertiser_id: str,
        query: ReportQuery,
        page_size: int,
        future: asyncio.Future[Report | None],
        size: tuple[int, int],
        cap: int | None,
    ) -> None:
        """Add the request to its key's open group (opening one); the group leaves when 5 advertisers asked, or
        when none joined for ``gather`` seconds, or ``most`` seconds after it opened. While no other advertiser
        is active (a poll alone, as ``run``'s polls mostly are: each advertiser has its own phase in the interval)
        there is nobody to wait for: the group leaves at the next turn of the event loop, after the requests made
        at the same moment joined. ``size``: the ads and rows of this report (0: not known); a group that with this
        advertiser would cover more than ``cap`` ads (None: no cap) or a page of rows leaves first, without it."""
        loop = asyncio.get_running_loop()
        key = batch_key(query, page_size)
        group = self._open.get(key)
        if group is not None and not _fits(group, advertiser_id, size, cap):
            self._flush(key)  # with this advertiser its answer would be capped, or take a page more: it leaves as is
            group = None
        if group is None:
            group = self._open[key] = _Group(query, page_size, contextvars.copy_context(), loop.time() + self._most)
        group.waiting.setdefault(advertiser_id, []).append(future)
        ads, rows = group.sizes.get(advertiser_id, (0, 0))
        group.sizes[advertiser_id] = (max(ads, size[0]), max(rows, size[1]))
        if len(group.waiting) >= MAX_ADVERTISERS:
            self._flush(key)
            return
        if group.timer is not None:
            group.timer.cancel()
        now = loop.time()
        wait = self._gather if self._others_active(advertiser_id, now) else 0.0
        self._seen(advertiser_id, now)
        group.timer = loop.call_at(min(loop.time() + wait, group.deadline), self._flush, key)

    def _others_active(self, advertiser_id: str, now: float) -> bool:
        """Whether another advertiser is reading a report here, or asked for or got one in the last
        :data:`ACTIVE_SECONDS`: its poll is under way, others may be too, and more reports may come."""
        if len(self._busy) > (advertiser_id in self._busy):
            return True
        return any(other != advertiser_id and now - t <= ACTIVE_SECONDS for other, t in self._latest)

    def _seen(self, advertiser_id: str, now: float) -> None:
        """Note activity of ``advertiser_id``: the two advertisers last active, each once, the latest first."""
        self._latest = [(advertiser_id, now), *[(a, t) for a, t in self._latest if a != advertiser_id][:1]]

    def _flush(self, key: str) -> None:
        group = self._open.pop(key, None)
        if group is None:
            return
        if group.timer is not None:
            group.timer.cancel()
        waiting = {a: [f for f in fs if not f.done()] for a, fs in group.waiting.items()}  # cancelled polls left
        waiting = {a: fs for a, fs in waiting.items() if fs}
        log.debug("%s report asked for by %d advertiser(s) at once", group.query.level.value, len(waiting))
        if len(waiting) < 2:  # nothing to combine: each goes alone, as it would have
            _answer(waiting, lambda _: None)
            return
        task = asyncio.get_running_loop().create_task(self._send(group, waiting), context=group.context)
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, group: _Group, waiting: dict[str, list[asyncio.Future[Report | None]]]) -> None:
        ids = list(waiting)
        query = group.query
        split: dict[str, list[ReportRow]] | None = None
        try:
            combined = await self._read(ids, query, group.page_size)
            if combined.truncated:  # capped across the advertisers: each reads its own (and its task if need be)
                log.info("a report over %d advertisers was capped at 20,000 ads: each reads its own", len(ids))
            else:
                split = split_rows(combined.rows, ids, query.metrics)
        except PermanentApiError as exc:
            self._refuse(query, ids, exc)
        except (BadResponseError, ValueError) as exc:  # an answer it cannot read
            self._turn_off(str(exc))
        except ApiError as exc:  # auth, transient or any other failure of the API: not remembered
            log.info("a report over %d advertisers failed, each reads its own: %s", len(ids), exc)
        except Exception as exc:  # anything else: no poll is left without its report, and no task error is lost
            self._turn_off(f"{type(exc).__name__}: {exc}")
        except BaseException:  # cancelled (the loop shuts down): nobody is left waiting forever
            _answer(waiting, lambda _: None)
            raise
        if split is None:  # each reads its own, as it would have
            _answer(waiting, lambda _: None)
            return
        self.sent += 1
        self.answered += sum(len(fs) for fs in waiting.values())
        rows = split
        _answer(waiting, lambda a: Report(rows=rows[a], request_ids=combined.request_ids))

    def _refuse(self, query: ReportQuery, ids: list[str], exc: ApiError) -> None:
        """Remember a refusal where it says so: the advertisers its message names (e.g. "no permission to access
        advertiser(s) ..."; TikTok combines only accounts of one TikTok for Business user) go alone from now on;
        a refusal naming none of them is the request's shape's (any report like it goes alone)."""
        named = [advertiser_id for advertiser_id in ids if advertiser_id in exc.message]
        if named:
            self._apart.update(named)
            log.warning(
                "the API refused a report over several advertisers (advertiser_ids) naming %s; their reports are "
                "read one advertiser per call from now on: %s",
                ", ".join(named),
                exc,
            )
            return
        shape = shape_key(query)
        if shape not in self._refused:
            self._refused.add(shape)
            log.warning(
                "the API refused a %s report over several advertisers (advertiser_ids); such reports are read one "
                "advertiser per call from now on: %s",
                query.level.value,
                exc,
            )

    def _turn_off(self, reason: str) -> None:
        if self._off is None:
            self._off = reason
            log.warning(
                "a report over several advertisers (advertiser_ids) could not be read; reports are read one "
                "advertiser per call from now on: %s",
                reason,
            )


def _fits(group: _Group, advertiser_id: str, size: tuple[int, int], cap: int | None) -> bool:
    """Whether ``group`` with ``advertiser_id``'s report of ``size`` (ads, rows) in place of any it has stays
    within ``cap`` ads (None: no cap) and one page of rows."""
    others = [other_size for other, other_size in group.sizes.items() if other != advertiser_id]
    ads, rows = size[0] + sum(a for a, _ in others), size[1] + sum(r for _, r in others)
    return (cap is None or ads <= cap) and rows <= group.page_size


def _answer(waiting: dict[str, list[asyncio.Future[Report | None]]], result: Callable[[str], Report | None]) -> None:
    """Give each waiting poll its result (None: read your own), skipping those cancelled meanwhile."""
    for advertiser_id, futures in waiting.items():
        for future in futures:
            if not future.done():
                future.set_result(result(advertiser_id))
