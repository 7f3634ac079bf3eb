"""Where a report's windows go in a level's windows (entity id -> window -> values): each row's window into its
entity's dict of windows, the level's first report making those dicts (:mod:`monitor.fetch_states`'s
``join_window`` and :mod:`monitor.fetch_distinct`'s ``join_distinct`` put them through :class:`Placing`; issue
18). A report of the very ids (in the same order) of the report that made or last placed the dicts puts each
window by row (:class:`Aligned`): no id hashed or looked up.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from typing import Any, cast

from monitor.domain import MetricValue
from monitor.domain.values import ReadOnlyDict

__all__ = ["Aligned", "Placing", "Windows"]

#: One level's report values: entity id -> window -> the window's read-only values.
Windows = dict[str, dict[str, Mapping[str, MetricValue]]]


class Aligned:
    """A level's report as joined (its first, or the last one put by id): its ids and each row's dict of windows
    (``into[id]`` is the dict of an id's last row). A later report of the very same ids in the same order (a
    level's reports usually are) puts each row's window straight into its row's dict: no id hashed or looked
    up."""

    __slots__ = ("ids", "rows")

    def __init__(self) -> None:
        self.ids: Sequence[str] | None = None
        self.rows: list[dict[str, Mapping[str, MetricValue]]] = []


class Placing:
    """Where one report's windows go, a slice of rows at a time (:meth:`put`), then :meth:`done`: the level's
    first report makes each entity's dict of windows (and ``aligned``'s rows), a report of ``aligned``'s very ids
    puts each row's window into its row's dict, any other puts it by id. Rows without an id are skipped; of two
    rows with one id the last counts; ``into`` must change only here while ``aligned`` is used."""

    __slots__ = ("aligned", "by_row", "first", "ids", "into", "placed", "window")

    def __init__(self, into: Windows, ids: Sequence[str], window: str, aligned: Aligned | None) -> None:
        self.into, self.ids, self.window, self.aligned = into, ids, window, aligned
        self.first = not into  # the level's first window: each entity's dict of windows is made here
        self.by_row = None  # each row's dict of windows, when these ids are the aligned report's
        self.placed: list[dict[str, Mapping[str, MetricValue]]] = []  # each row's dict, put by id
        if aligned is not None:
            if self.first:
                aligned.ids, aligned.rows = ids, []
            elif aligned.ids is not None and (
                aligned.ids is ids or (len(aligned.ids) == len(ids) and aligned.ids == ids)
            ):
                self.by_row = aligned.rows

    def put(self, start: int, stop: int, values: list[Mapping[str, MetricValue]]) -> None:
        """Put ``values`` (the windows of rows ``start`` to ``stop``) where they go."""
        window = self.window
        if self.by_row is not None:
            deque(map(_fill, self.by_row[start:stop], repeat(window), values), maxlen=0)
        elif self.first:
            made: list[dict[str, Mapping[str, MetricValue]]] = [ReadOnlyDict() for _ in values]
            deque(map(_fill, made, repeat(window), values), maxlen=0)
            _first(self.into, self.ids[start:stop], made)
            if self.aligned is not None:
                self.aligned.rows += made
        else:
            self.placed += _put(self.into, self.ids[start:stop], window, values)

    def done(self) -> None:
        """After the last slice: a report put by id (not the aligned one's ids) becomes the aligned one, so that
        the next report of these ids is put by row (a level's first report often lacks some entities that all
        later ones list: today's, of the ads that have not delivered yet)."""
        if self.aligned is not None and not self.first and self.by_row is None:
            self.aligned.ids, self.aligned.rows = self.ids, self.placed


def _first(into: Windows, ids: Sequence[str], made: list[dict[str, Mapping[str, MetricValue]]]) -> None:
    """``into[id] = made[i]`` for each of ``ids`` but blank ones, the last of an id counting (in C)."""
    found = dict(zip(ids, made, strict=True))
    found.pop("", None)
    into.update(found)


#: Puts a value into a :class:`ReadOnlyDict` being made (its own ``__setitem__`` refuses), in C.
_fill: Callable[[dict[str, Any], str, Any], None] = dict.__setitem__


def _put(
    into: Windows, ids: Sequence[str], window: str, values: list[Mapping[str, MetricValue]]
) -> list[dict[str, Mapping[str, MetricValue]]]:
    """``into[id][window] = values[i]`` for each of ``ids`` but blank ones, the last of an id counting; each row's
    dict of windows (a blank id's: one of its own, which no entity holds). Each id looked up once, in C; an id
    not seen yet gets its dict in its order (one for all its rows)."""
    rows = list(map(into.get, ids))
    if not all(rows):  # (None: a new entity, or a blank id; an entity's dict is never empty)
        for i in [i for i, mine in enumerate(rows) if mine is None]:
            entity_id = ids[i]
            mine = into.get(entity_id) if entity_id else None  # (an id new in an earlier row has its dict now)
            if mine is None:
                mine = ReadOnlyDict()
                if entity_id:
                    into[entity_id] = mine
            rows[i] = mine
    placed = cast(list[dict[str, Mapping[str, MetricValue]]], rows)
    deque(map(_fill, placed, repeat(window), values), maxlen=0)
    return placed
