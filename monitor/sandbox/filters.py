"""The ``filtering`` object of campaign/get/, adgroup/get/ and ad/get/ (tiktok-api.md §3, SDK FilteringCampaignGet,
FilteringAdgroupGet, FilteringAdGet): every key the SDK documents either works or is refused with a 40002 that
says the sandbox does not simulate it. None is silently ignored.

Keys that work:

* ids (``campaign_ids``, ``adgroup_ids``, ``ad_ids``, ≤100), ``*_name`` (case-insensitive substring);
* ``primary_status``/``secondary_status``: every value of the SDK's enums (:mod:`status_enums`); a value the
  sandbox never produces matches nothing. Deleted objects are left out unless a status filter asks for them;
* ``objective_type``: ``CONVERSIONS`` also matches ``WEB_CONVERSIONS`` objects (as TikTok does);
* ``optimization_goal`` (ad groups and ads: the ad group's goal), ``billing_events`` (ad groups);
* ``campaign_automation_type``: the campaign's (``UPGRADED_SMART_PLUS`` for Smart+ ones, :mod:`smartplus`);
* filters on properties every sandbox object shares match all or nothing: ``buying_types`` (all are AUCTION),
  ``campaign_system_origins`` (TT_ADS_PLATFORM), ``campaign_type``
  (REGULAR_CAMPAIGN), ``promotion_type`` (WEBSITE), ``creative_material_mode`` (CUSTOM),
  ``split_test_enabled`` and ``is_smart_performance_campaign`` (false);
* ``creation_filter_start_time``/``_end_time`` and ``modified_after`` (ads), UTC ``YYYY-MM-DD HH:MM:SS``.

Refused (40002, "not simulated"): ``optimization_goal`` on campaigns, ``bid_strategy``, ``destination``,
``creative_campaign_type``, ``campaign_product_source``, ``sales_destination``. Keys the SDK does not know are a
40002 too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from monitor.sandbox.entities import Ad, AdGroup, Campaign
from monitor.sandbox.params import checked_strings, param_error
from monitor.sandbox.smartplus import AUTOMATION_TYPES
from monitor.sandbox.status import is_deleted, primary_of
from monitor.sandbox.status_enums import PRIMARY, SECONDARY
from monitor.sandbox.world import World

Entity = Campaign | AdGroup | Ad
Check = Callable[[Entity], bool]

_SHARED = {"campaign_ids", "primary_status", "secondary_status", "objective_type", "buying_types",
           "campaign_system_origins", "creation_filter_start_time", "creation_filter_end_time"}  # fmt: skip
#: The keys of the SDK's filtering models (plus ``campaign_automation_type``, tiktok-api.md §3).
FILTER_KEYS = {
    "campaign": frozenset(
        _SHARED
        | {
            "campaign_name",
            "campaign_type",
            "campaign_product_source",
            "optimization_goal",
            "creative_campaign_type",
            "is_smart_performance_campaign",
            "sales_destination",
            "split_test_enabled",
            "campaign_automation_type",
        }
    ),
    "adgroup": frozenset(
        _SHARED
        | {
            "adgroup_ids",
            "adgroup_name",
            "bid_strategy",
            "billing_events",
            "creative_material_mode",
            "optimization_goal",
            "promotion_type",
            "split_test_enabled",
            "campaign_automation_type",
        }
    ),
    "ad": frozenset(
        _SHARED
        | {
            "adgroup_ids",
            "ad_ids",
            "ad_name",
            "creative_material_mode",
            "destination",
            "modified_after",
            "optimization_goal",
            "campaign_automation_type",
        }
    ),
}
_NOT_SIMULATED = {
    "campaign": frozenset(
        {"optimization_goal", "creative_campaign_type", "campaign_product_source", "sales_destination"}
    ),
    "adgroup": frozenset({"bid_strategy"}),
    "ad": frozenset({"destination"}),
}
#: filter key -> the value every sandbox object has (a list filter matches when it contains it).
_CONSTANT: dict[str, object] = {
    "buying_types": "AUCTION",
    "campaign_system_origins": "TT_ADS_PLATFORM",
    "campaign_type": "REGULAR_CAMPAIGN",
    "promotion_type": "WEBSITE",
    "creative_material_mode": "CUSTOM",
    "split_test_enabled": False,
    "is_smart_performance_campaign": False,
}
_LIST_KEYS = frozenset({"buying_types", "campaign_system_origins", "billing_events"})
#: objective_type filter value -> the objectives it matches besides itself.
_OBJECTIVE_ALIASES = {"CONVERSIONS": frozenset({"CONVERSIONS", "WEB_CONVERSIONS"})}
_PREFIX = {"campaign": "CAMPAIGN_STATUS_", "adgroup": "ADGROUP_STATUS_", "ad": "AD_STATUS_"}


def ids_of(e: Entity) -> dict[str, str]:
    if isinstance(e, Campaign):
        return {"campaign_ids": e.campaign_id}
    if isinstance(e, AdGroup):
        return {"campaign_ids": e.campaign.campaign_id, "adgroup_ids": e.adgroup_id}
    return {"campaign_ids": e.adgroup.campaign.campaign_id, "adgroup_ids": e.adgroup.adgroup_id, "ad_ids": e.ad_id}


def campaign_of(e: Entity) -> Campaign:
    return e if isinstance(e, Campaign) else e.campaign if isinstance(e, AdGroup) else e.adgroup.campaign


def _adgroup_of(e: Entity) -> AdGroup:
    assert not isinstance(e, Campaign)
    return e if isinstance(e, AdGroup) else e.adgroup


def _utc(name: str, value: object) -> float:
    try:
        if not isinstance(value, str):
            raise ValueError
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise param_error(f"filtering.{name}: Not a valid time (YYYY-MM-DD HH:MM:SS, UTC).") from None


def _string(f: dict[str, Any], key: str) -> str | None:
    value = f.get(key)
    if value is not None and not isinstance(value, str):
        raise param_error(f"filtering.{key}: Not a valid string.")
    return value


def _constant(key: str, value: object) -> Check:
    expected = _CONSTANT[key]
    if key in _LIST_KEYS:
        matches = expected in checked_strings(f"filtering.{key}", value)
    elif isinstance(expected, bool):
        if not isinstance(value, bool):
            raise param_error(f"filtering.{key}: Not a valid boolean.")
        matches = value is expected
    else:
        if not isinstance(value, str):
            raise param_error(f"filtering.{key}: Not a valid string.")
        matches = value == expected
    return lambda e: matches


def entity_checks(world: World, now: float, kind: str, f: dict[str, Any]) -> tuple[list[Check], bool]:
    """The filter's checks (deleted objects aside) and whether deleted objects are wanted."""
    unknown = sorted(set(f) - FILTER_KEYS[kind])
    if unknown:
        raise param_error(f"filtering: Unknown field(s): {', '.join(unknown)}.")
    refused = sorted(set(f) & _NOT_SIMULATED[kind])
    if refused:
        raise param_error(
            f"filtering: {', '.join(refused)} is not simulated by the sandbox on {kind}/get/ (see README, Sandbox)."
        )
    checks: list[Check] = []
    for key in ("campaign_ids", "adgroup_ids", "ad_ids"):
        if key in f:
            ids = frozenset(checked_strings(f"filtering.{key}", f[key], max_len=100, ids=True))
            checks.append(lambda e, key=key, ids=ids: ids_of(e)[key] in ids)  # type: ignore[misc]
    needle = _string(f, f"{kind}_name")
    if needle:
        folded = needle.casefold()
        checks.append(lambda e: folded in e.name.casefold())
    primary, secondary = _string(f, "primary_status"), _string(f, "secondary_status")
    if primary is not None and primary not in PRIMARY:
        raise param_error(f"filtering.primary_status: Invalid value {primary!r}.")
    if secondary is not None and secondary not in SECONDARY[kind]:
        raise param_error(f"filtering.secondary_status: Invalid value {secondary!r}.")
    prefix = _PREFIX[kind]
    pseudo = {prefix + "ALL", prefix + "NOT_DELETE"}
    if primary not in (None, "STATUS_ALL", "STATUS_NOT_DELETE"):
        checks.append(lambda e: primary_of(world.secondary_status(e, now)) == primary)
    if secondary is not None and secondary not in pseudo:
        checks.append(lambda e: world.secondary_status(e, now) == secondary)
    wants_deleted = (
        primary in ("STATUS_ALL", "STATUS_DELETE")
        or secondary == prefix + "ALL"
        or (secondary is not None and secondary not in pseudo and _deleted_value(secondary))
    )
    objective = _string(f, "objective_type")
    if objective:
        allowed = _OBJECTIVE_ALIASES.get(objective, frozenset({objective}))
        checks.append(lambda e: campaign_of(e).objective_type in allowed)
    goal = _string(f, "optimization_goal")
    if goal:
        checks.append(lambda e: _adgroup_of(e).optimization_goal == goal)
    if "billing_events" in f:
        events = frozenset(checked_strings("filtering.billing_events", f["billing_events"]))
        checks.append(lambda e: _adgroup_of(e).billing_event in events)
    automation = _string(f, "campaign_automation_type")
    if automation is not None:
        if automation not in AUTOMATION_TYPES:
            raise param_error(f"filtering.campaign_automation_type: Invalid value {automation!r}.")
        checks.append(lambda e: campaign_of(e).automation_type == automation)
    checks.extend(_constant(key, f[key]) for key in sorted(set(f) & set(_CONSTANT)) if f[key] is not None)
    if "creation_filter_start_time" in f:
        since = _utc("creation_filter_start_time", f["creation_filter_start_time"])
        checks.append(lambda e: e.create_time >= since)
    if "creation_filter_end_time" in f:
        until = _utc("creation_filter_end_time", f["creation_filter_end_time"])
        checks.append(lambda e: e.create_time <= until)
    if "modified_after" in f:
        after = _utc("modified_after", f["modified_after"])
        checks.append(lambda e: e.modify_time >= after)
    return checks, wants_deleted


def _deleted_value(secondary: str) -> bool:
    """Whether a secondary_status value names deleted objects (the sandbox's own, or a *_DELETE value)."""
    try:
        return is_deleted(secondary)
    except KeyError:
        return secondary.endswith("_DELETE")
