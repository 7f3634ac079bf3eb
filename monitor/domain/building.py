"""Entity states built in bulk from values known valid: the fetch path's constructor (issue 18).

``EntityState(...)`` checks and converts what it is given (:meth:`EntityState.__post_init__`: the level made a
:class:`Level`, the metrics made read-only by :func:`~monitor.domain.values.freeze_metrics`), and a frozen
dataclass sets each of its 13 fields through ``object.__setattr__``: about 4 microseconds per entity, 0.4 s for a
100,000-ad snapshot (0.12 s built here, on the development machine). A poll's fetch already has what that work
makes: entity fields read and checked at the edge (:mod:`monitor.tiktok.entity_rows`) and report windows built
read-only (:mod:`monitor.fetch_states`). :func:`build_states` sets the slots directly and checks nothing; it is
equal to the public constructor for such values (the tests compare the two on generated inputs) and is for the
fetch path only: everything else builds states with ``EntityState(...)``. :data:`restored_state` is the same for
one state the store reads back (:mod:`monitor.store.snapshots`: 100,000 a poll of a large account), built by plain
slot stores (:class:`_Restoring`): 0.39 microseconds each, against 0.97 with the slot setters :func:`build_states`
calls and 2.5 with the constructor (best of 15 runs of 100,000 while other work shared the cores).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import cast

from monitor.domain.entities import EntityFields, EntityState
from monitor.domain.levels import Level
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY, Metrics, MetricValue

__all__ = ["build_states", "restored_state"]

_new = object.__new__
_slot = {name: getattr(EntityState, name).__set__ for name in EntityState.__slots__}
_set_level, _set_id, _set_advertiser, _set_name = _slot["level"], _slot["id"], _slot["advertiser_id"], _slot["name"]
_set_operation, _set_secondary, _set_budget = _slot["operation_status"], _slot["secondary_status"], _slot["budget"]
_set_mode, _set_campaign, _set_adgroup = _slot["budget_mode"], _slot["campaign_id"], _slot["adgroup_id"]
_set_metrics, _set_smart, _set_changed_by = _slot["metrics"], _slot["smart_plus"], _slot["changed_by"]


def build_states(
    level: Level,
    advertiser_id: str,
    rows: Iterable[EntityFields],
    windows: Mapping[str, dict[str, Mapping[str, MetricValue]]],
) -> list[EntityState]:
    """The states of ``rows`` (one level's, of one advertiser), each with its metrics ``windows[id]`` (none when
    absent), as ``EntityState(level=level, id=..., advertiser_id=advertiser_id, ..., metrics=...)`` would be.

    What the caller guarantees, unchecked: ``level`` is a :class:`Level`; the rows' values have the types
    :data:`EntityFields` declares; each window in ``windows`` is read-only (a ``MappingProxyType`` of a plain
    dict nobody changes, as ``freeze_metrics`` makes them). Each entity's dict of windows is handed over: it is
    wrapped read-only, not copied, so the caller must not change it afterwards (an empty one is not kept)."""
    if type(level) is not Level:  # once per call: the one check that costs nothing per entity
        raise TypeError(f"level is {level!r}, expected a Level")
    # the slots' setters as locals: the loop runs 100,000 times for a large account
    set_level, set_id, set_advertiser, set_name = _set_level, _set_id, _set_advertiser, _set_name
    set_operation, set_secondary, set_budget = _set_operation, _set_secondary, _set_budget
    set_mode, set_campaign, set_adgroup = _set_mode, _set_campaign, _set_adgroup
    set_metrics, set_smart, set_changed_by = _set_metrics, _set_smart, _set_changed_by
    new, proxy, windows_of, out = _new, MappingProxyType, windows.get, list[EntityState]()
    append = out.append
    for entity_id, name, operation, secondary, budget, mode, campaign_id, adgroup_id, smart_plus in rows:
        state = new(EntityState)
        set_level(state, level)
        set_id(state, entity_id)
        set_advertiser(state, advertiser_id)
        set_name(state, name)
        set_operation(state, operation)
        set_secondary(state, secondary)
        set_budget(state, budget)
        set_mode(state, mode)
        set_campaign(state, campaign_id)
        set_adgroup(state, adgroup_id)
        found = windows_of(entity_id)
        set_metrics(state, proxy(found) if found else EMPTY)
        set_smart(state, smart_plus)
        set_changed_by(state, None)
        append(state)
    return out


class _Restoring:
    """An :class:`EntityState` being restored: the very slots, stored by plain attribute assignment (which the
    frozen class refuses), then given its class (CPython allows that between classes of one layout: the same
    base and ``__slots__``). A plain slot store is an instruction the interpreter specialises, a few
    nanoseconds; a slot setter called as :func:`build_states` calls them is a generic call of a C wrapper (an
    argument tuple made and taken apart), ~30 ns, 13 a state. What the instance is afterwards is an
    ``EntityState`` like any other (tests/test_build_states.py compares every field)."""

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
