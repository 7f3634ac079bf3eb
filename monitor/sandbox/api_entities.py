"""campaign/get/, adgroup/get/, ad/get/: filtered, field-selected, paginated lists (tiktok-api.md §3).

Default sort: id descending. ``filtering`` is checked and applied by :mod:`filters` (every key works or is
refused, none is ignored). ``exclude_field_types_in_response=["NULL_FIELD"]`` leaves out fields whose value is
null.
"""

from __future__ import annotations

from typing import Any

from monitor.sandbox import render
from monitor.sandbox.call import Call
from monitor.sandbox.entities import Ad, AdGroup, Campaign
from monitor.sandbox.filters import entity_checks
from monitor.sandbox.params import page_info, param_error
from monitor.sandbox.world import World

Entity = Campaign | AdGroup | Ad
MAX_PAGE_SIZE = 1000

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
    exclude_null = _exclude_null(p.string_list("exclude_field_types_in_response"))
    checks, wants_deleted = entity_checks(call.world, call.now, kind, filtering)
    world = call.world
    base = world.listing(adv, kind) if wants_deleted else world.visible(adv, kind, call.now)
    matching = [e for e in base if all(check(e) for check in checks)] if checks else base
    chosen = matching[(page - 1) * page_size : page * page_size]
    now = call.now
    return {
        "list": [_without_nulls(_render(world, e, now, fields), exclude_null) for e in chosen],
        "page_info": page_info(len(matching), page, page_size),
    }


def _render(world: World, e: Entity, now: float, fields: list[str] | None) -> dict[str, Any]:
    if isinstance(e, Campaign):
        return render.campaign(world, e, now, fields)
    if isinstance(e, AdGroup):
        return render.adgroup(world, e, now, fields)
    return render.ad(world, e, now, fields)


def _exclude_null(types: list[str] | None) -> bool:
    wrong = [t for t in types or [] if t != "NULL_FIELD"]
    if wrong:
        raise param_error(
            f"exclude_field_types_in_response: Invalid value(s): {', '.join(wrong)}; allowed: NULL_FIELD."
        )
    return bool(types)


def _without_nulls(item: dict[str, Any], exclude: bool) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None} if exclude else item
