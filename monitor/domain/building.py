"""Entity states built in bulk from values known valid: the fetch path's constructor (issue 18).

``EntityState(...)`` checks and converts what it is given (:meth:`EntityState.__post_init__`: the level made a
:class:`Level`, the metrics made read-only by :func:`~monitor.domain.values.freeze_metrics`), and a frozen
dataclass sets each of its 13 fields through ``object.__setattr__``: about 4 microseconds per entity, 0.4 s for a
100,000-ad snapshot (0.12 s built here, on the development machine). A poll's fetch already has what that work
makes: entity fields read and checked at the edge (:mod:`monitor.tiktok.entity_rows`) and report windows built
read-only (:mod:`monitor.fetch_states`). :func:`build_states` sets the slots directly and checks nothing; it is
equal to the public constructor for such values (the tests compare the two on generated inputs) and is for the
fetch path only: everything else builds states with ``EntityState(...)``. :data:`restored_state` is the same for
one state the store reads back (:mod:`monitor.store.snapshots`: 100,000 a poll of a large account). Both store
the slots plainly (:class:`_Restoring`): 0.39 microseconds a state, against 0.97 with the slots' setters (called
as functions) and 2.5 with the constructor (best of 15 runs of 100,000 while other work shared the cores).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Protocol, cast

from monitor.domain.entities import EntityFields, EntityKey, EntityState
from monitor.domain.levels import Level
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY, Metrics, MetricValue, ReadOnlyDict

__all__ = ["Known", "build_states", "restored_state"]

_new = object.__new__


class Known(Protocol):
    """What :func:`build_states` reads of a previous entity: a state, or its row as the store read it
    (monitor.store.lean)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str | None: ...


def build_states(
    level: Level,
    advertiser_id: str,
    rows: Iterable[EntityFields],
    windows: Mapping[str, dict[str, Mapping[str, MetricValue]]],
    known: Mapping[EntityKey, Known] | None = None,
) -> list[EntityState]:
    """The states of ``rows`` (one level's, of one advertiser), each with its metrics ``windows[id]`` (none when
    absent), as ``EntityState(level=level, id=..., advertiser_id=advertiser_id, ..., metrics=...)`` would be.
    ``known`` (the previous snapshot's states, or its rows read lean: monitor.store.lean): where it has the
    entity, the new state holds that entity's very id string, and its name string when equal (issue 18: two
    snapshots then hold one copy of 100,000 ids and names, not two, some 13 MB); every value stays equal, of the
    same type.

    What the caller guarantees, unchecked: ``level`` is a :class:`Level`; the rows' values have the types
    :data:`EntityFields` declares; each window in ``windows`` is read-only (a ``MappingProxyType`` of a plain
    dict nobody changes, as ``freeze_metrics`` makes them, or a :class:`~monitor.domain.values.ReadOnlyDict`, as
    the fetch does). Each entity's dict of windows is handed over: kept as it is when a ``ReadOnlyDict``, else
    wrapped read-only, never copied, so the caller must not change it afterwards (an empty one is not kept).

    Each state is made as :class:`_Restoring` makes one, by plain slot stores, here inline (no call per state):
    0.5 s less per million states than calling the slot setters (best of 9 runs of 100,000 ads)."""
    if type(level) is not Level:  # once per call: the one check that costs nothing per entity
        raise TypeError(f"level is {level!r}, expected a Level")
    new, proxy, windows_of, restoring, built = _new, MappingProxyType, windows.get, _Restoring, EntityState
    read_only = ReadOnlyDict
    found_known = (known or _NONE_KNOWN).get
    out: list[Any] = []  # of EntityState: each _Restoring is given that class before it is added
    append = out.append
    for entity_id, name, operation, secondary, budget, mode, campaign_id, adgroup_id, smart_plus in rows:
        state = new(restoring)
        old = found_known((level, entity_id))
        if old is None:
            state.id, state.name = entity_id, name
        else:
            state.id, state.name = old.id, (old.name if name is not None and name == old.name else name)
        state.level = level
        state.advertiser_id = advertiser_id
        state.operation_status = operation
        state.secondary_status = secondary
        state.budget = budget
        state.budget_mode = mode
        state.campaign_id = campaign_id
        state.adgroup_id = adgroup_id
        found = windows_of(entity_id)
        state.metrics = (found if type(found) is read_only else proxy(found)) if found else EMPTY
        state.smart_plus = smart_plus
        state.changed_by = None
        state.__class__ = built  # type: ignore[assignment]
        append(state)
    return out


#: No previous states: what ``known`` is when none are given.
_NONE_KNOWN: Mapping[EntityKey, Known] = MappingProxyType({})


class _Restoring:
    """An :class:`EntityState` being restored: the very slots, stored by plain attribute assignment (which the
    frozen class refuses), then given its class (CPython allows that between classes of one layout: the same
    base and ``__slots__``). A plain slot store is an instruction the interpreter specialises, a few
    nanoseconds; a slot setter called as a function is a generic call of a C wrapper (an argument tuple made and
    taken apart), ~30 ns, 13 a state. :func:`build_states` makes its states the same way, inline. What the
    instance is afterwards is an ``EntityState`` like any other (tests/test_build_states.py compares every
    field)."""

    __slots__ = EntityState.__slots__

    def __init__(
        self,
        level: Level,
        entity_id: str,
        advertiser_id: str,
        name: str | None,
        operation_status: str | None,
        secondary_status: str | None,
        budget: float | None,
        budget_mode: str | None,
        campaign_id: str | None,
        adgroup_id: str | None,
        metrics: StoredMetrics | Metrics,
    ) -> None:
        self.level = level
        self.id = entity_id
        self.advertiser_id = advertiser_id
        self.name = name
        self.operation_status = operation_status
        self.secondary_status = secondary_status
        self.budget = budget
        self.budget_mode = budget_mode
        self.campaign_id = campaign_id
        self.adgroup_id = adgroup_id
        self.metrics = metrics
        self.smart_plus = False
        self.changed_by = None
        self.__class__ = EntityState  # type: ignore[assignment]


#: ``restored_state(level, entity_id, advertiser_id, name, operation_status, secondary_status, budget,
#: budget_mode, campaign_id, adgroup_id, metrics)``: ``EntityState(...)`` of the same values for values the store
#: read back, unchecked: ``level`` is a :class:`Level` and ``metrics`` a :class:`StoredMetrics` or :data:`EMPTY`
#: (what the constructor keeps as they are); ``smart_plus`` False and ``changed_by`` None, as stored states have.
#: A class called as a function (:class:`_Restoring`), typed as what it makes.
restored_state = cast(
    Callable[
        [Level, str, str, str | None, str | None, str | None, float | None, str | None, str | None, str | None,
         StoredMetrics | Metrics],
        EntityState,
    ],
    _Restoring,
)  # fmt: skip
