"""campaign/get/, adgroup/get/, ad/get/: filtered, field-selected, paginated lists (tiktok-api.md §3).

Default sort: id descending. Deleted objects are left out unless ``primary_status``/``secondary_status`` ask
for them. Filtering keys the sandbox does not model (e.g. ``split_test_enabled``) are accepted and ignored;
unknown keys are a 40002.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from monitor.sandbox import render
from monitor.sandbox.call import Call
from monitor.sandbox.entities import Ad, AdGroup, Campaign
from monitor.sandbox.params import checked_strings, page_info, param_error
from monitor.sandbox.smartplus import AUTOMATION_TYPES
from monitor.sandbox.status import PRIMARY_FILTERS, SECONDARY_VALUES, is_deleted, primary_of
from monitor.sandbox.world import World

Entity = Campaign | AdGroup | Ad
MAX_PAGE_SIZE = 1000

_IGNORED = frozenset(
    {
        "creative_material_mode",
        "destination",
        "promotion_type",
        "bid_strategy",
        "billing_events",
        "split_test_enabled",
        "is_smart_performance_campaign",
        "creative_campaign_type",
        "campaign_product_source",
        "sales_destination",
        "campaign_type",
        "optimization_goal",
    }
)
_COMMON = (
    frozenset(
        {
            "campaign_ids",
            "primary_status",
            "secondary_status",
            "objective_type",
            "buying_types",
            "campaign_system_origins",
            "campaign_automation_type",
            "creation_filter_start_time",
            "creation_filter_end_time",
        }
    )
    | _IGNORED
)
FILTER_KEYS = {
    "campaign": _COMMON | {"campaign_name"},
    "adgroup": _COMMON | {"adgroup_ids", "adgroup_name"},
    "ad": _COMMON | {"adgroup_ids", "ad_ids", "ad_name", "modified_after"},
}
FIELDS = {"campaign": render.CAMPAIGN_FIELDS, "adgroup": render.ADGROUP_FIELDS, "ad": render.AD_FIELDS}


async def campaign_get(call: Call) -> dict[str, Any]:
    return await call.sandbox.offload(lambda: _list(call, "campaign"))


async def adgroup_get(call: Call) -> dict[str, Any]:
    return await call.sandbox.offload(lambda: _list(call, "adgroup"))


async def ad_get(call: Call) -> dict[str, Any]:
    return await call.sandbox.offload(lambda: _list(call, "ad"))


def _list(call: Call, kind: str) -> dict[str, Any]:
    adv = call.advertiser()
    p = call.params
    fields = render.check_fields(p.string_list("fields"), FIELDS[kind])
    filtering = p.structured("filtering", dict) or {}
    page = p.integer("page", default=1, low=1, high=1_000_000)
    page_size = p.integer("page_size", default=10, low=1, high=MAX_PAGE_SIZE)
    checks, wants_deleted = _checks(call, kind, filtering)
    world = call.world
    base = world.listing(adv, kind) if wants_deleted else world.visible(adv, kind, call.now)
    matching = [e for e in base if all(check(e) for check in checks)] if checks else base
    chosen = matching[(page - 1) * page_size : page * page_size]
    now = call.now
    return {
        "list": [_render(world, e, now, fields) for e in chosen],
        "page_info": page_info(len(matching), page, page_size),
    }


def _render(world: World, e: Entity, now: float, fields: list[str] | None) -> dict[str, Any]:
    if isinstance(e, Campaign):
        return render.campaign(world, e, now, fields)
    if isinstance(e, AdGroup):
        return render.adgroup(world, e, now, fields)
    return render.ad(world, e, now, fields)


def _ids_of(e: Entity) -> dict[str, str]:
    if isinstance(e, Campaign):
        return {"campaign_ids": e.campaign_id}
    if isinstance(e, AdGroup):
        return {"campaign_ids": e.campaign.campaign_id, "adgroup_ids": e.adgroup_id}
    return {"campaign_ids": e.adgroup.campaign.campaign_id, "adgroup_ids": e.adgroup.adgroup_id, "ad_ids": e.ad_id}


def _id_in(key: str, ids: frozenset[str]) -> Callable[[Entity], bool]:
    return lambda e: _ids_of(e)[key] in ids


def _campaign(e: Entity) -> Campaign:
    return e if isinstance(e, Campaign) else e.campaign if isinstance(e, AdGroup) else e.adgroup.campaign


def _utc(name: str, value: object) -> float:
    try:
        if not isinstance(value, str):
            raise ValueError
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise param_error(f"filtering.{name}: Not a valid time (YYYY-MM-DD HH:MM:SS, UTC).") from None


def _checks(call: Call, kind: str, f: dict[str, Any]) -> tuple[list[Callable[[Entity], bool]], bool]:
    """The filter's checks (deleted objects aside) and whether deleted objects are wanted."""
    unknown = sorted(set(f) - FILTER_KEYS[kind])
    if unknown:
        raise param_error(f"filtering: Unknown field(s): {', '.join(unknown)}.")
    world, now = call.world, call.now
    checks: list[Callable[[Entity], bool]] = []
    for key in ("campaign_ids", "adgroup_ids", "ad_ids"):
        if key in f:
            ids = frozenset(checked_strings(f"filtering.{key}", f[key], max_len=100, ids=True))
            checks.append(_id_in(key, ids))
    name_key = f"{kind}_name"
    if f.get(name_key):
        needle = str(f[name_key]).casefold()
        checks.append(lambda e: needle in e.name.casefold())
    primary, secondary = f.get("primary_status"), f.get("secondary_status")
    for key, value in (("primary_status", primary), ("secondary_status", secondary)):
        if value is not None and not isinstance(value, str):
            raise param_error(f"filtering.{key}: Not a valid string.")
    if primary is not None and primary not in PRIMARY_FILTERS:
        raise param_error(f"filtering.primary_status: Invalid value {primary!r}.")
    prefix = {"campaign": "CAMPAIGN_STATUS_", "adgroup": "ADGROUP_STATUS_", "ad": "AD_STATUS_"}[kind]
    pseudo = {prefix + "ALL", prefix + "NOT_DELETE"}
    if secondary is not None and secondary not in SECONDARY_VALUES[kind] | pseudo:
        raise param_error(f"filtering.secondary_status: Invalid value {secondary!r}.")
    if primary not in (None, "STATUS_ALL", "STATUS_NOT_DELETE"):
        checks.append(lambda e: primary_of(world.secondary_status(e, now)) == primary)
    if secondary is not None and secondary not in pseudo:
        checks.append(lambda e: world.secondary_status(e, now) == secondary)
    wants_deleted = (
        primary in ("STATUS_ALL", "STATUS_DELETE")
        or secondary == prefix + "ALL"
        or (secondary in SECONDARY_VALUES[kind] and is_deleted(secondary))
    )
    if f.get("objective_type"):
        checks.append(lambda e: _campaign(e).objective_type == f["objective_type"])
    if "buying_types" in f and "AUCTION" not in checked_strings("filtering.buying_types", f["buying_types"]):
        checks.append(lambda e: False)
    origins = f.get("campaign_system_origins")
    if origins is not None and "TT_ADS_PLATFORM" not in checked_strings("filtering.campaign_system_origins", origins):
        checks.append(lambda e: False)
    automation = f.get("campaign_automation_type")
    if automation is not None:
        if automation not in AUTOMATION_TYPES:
            raise param_error(f"filtering.campaign_automation_type: Invalid value {automation!r}.")
        checks.append(lambda e: _campaign(e).automation_type == automation)
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
