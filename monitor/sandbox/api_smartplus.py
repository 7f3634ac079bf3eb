"""The Upgraded Smart+ endpoints (tiktok-api.md §12; the world's side is :mod:`monitor.sandbox.smartplus`).

* ``smart_plus/campaign/get/``, ``smart_plus/adgroup/get/`` (page_size ≤ 1000), ``smart_plus/ad/get/`` (≤ 100):
  Smart+ objects only; ``filtering`` takes ``campaign_ids``, ``adgroup_ids`` and (ads) ``smart_plus_ad_ids``,
  any other key is refused with a 40002 saying the sandbox does not simulate it. An ad answers its
  ``smart_plus_ad_id``, its real ``ad_name`` and its ``creative_list`` (the creative ad ids).
* ``smart_plus/{campaign,adgroup,ad}/status/update/``: 1-20 ids (``campaign_ids``, ``adgroup_ids``,
  ``smart_plus_ad_ids``) and ``operation_status``; ids that are not Smart+ objects of the advertiser (or are
  deleted) go to ``error_list`` and the others are applied (code 20001 when some failed, a 40002 when all did).
* ``smart_plus/campaign/update/`` (``campaign_id``, ``budget``, ``campaign_name``) and
  ``smart_plus/adgroup/budget/update/`` (``budget`` / ``scheduled_budget`` lists as adgroup/budget/update/),
  with the same budget rules as the ordinary endpoints.

Every status and budget change is recorded in the change log (:mod:`monitor.sandbox.changelog`).
"""

from __future__ import annotations

from typing import Any

from monitor.sandbox import changelog, render
from monitor.sandbox.api_writes import MAX_IDS, PARTIAL, STATUSES, budget_problem
from monitor.sandbox.call import Answer, Call
from monitor.sandbox.entities import DAY, TOTAL, AdGroup, Campaign
from monitor.sandbox.params import checked_strings, page_info, param_error, to_number
from monitor.sandbox.smartplus import SmartPlusAd, is_smart

FILTERS = {
    "campaign": frozenset({"campaign_ids"}),
    "adgroup": frozenset({"campaign_ids", "adgroup_ids"}),
    "ad": frozenset({"campaign_ids", "adgroup_ids", "smart_plus_ad_ids"}),
}
PAGE_LIMIT = {"campaign": 1000, "adgroup": 1000, "ad": 100}


def _filters(call: Call, kind: str) -> dict[str, frozenset[str]]:
    f = call.params.structured("filtering", dict) or {}
    other = sorted(set(f) - FILTERS[kind])
    if other:
        raise param_error(
            f"filtering: {', '.join(other)} is not simulated by the sandbox on smart_plus/{kind}/get/ "
            f"(supported: {', '.join(sorted(FILTERS[kind]))})."
        )
    return {k: frozenset(checked_strings(f"filtering.{k}", v, max_len=100, ids=True)) for k, v in f.items()}


def _page(call: Call, kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    page = call.params.integer("page", default=1, low=1, high=1_000_000)
    size = call.params.integer("page_size", default=10, low=1, high=PAGE_LIMIT[kind])
    return {"list": rows[(page - 1) * size : page * size], "page_info": page_info(len(rows), page, size)}


def _ok(f: dict[str, frozenset[str]], ids: dict[str, str]) -> bool:
    return all(ids[k] in v for k, v in f.items())


async def campaign_get(call: Call) -> dict[str, Any]:
    adv, f, now = call.advertiser(), _filters(call, "campaign"), call.now
    fields = render.check_fields(call.params.string_list("fields"), render.CAMPAIGN_FIELDS)
    found = [e for e in call.world.visible(adv, "campaign", now) if isinstance(e, Campaign) and is_smart(e)]
    rows = [render.campaign(call.world, c, now, fields) for c in found if _ok(f, {"campaign_ids": c.campaign_id})]
    return _page(call, "campaign", rows)


async def adgroup_get(call: Call) -> dict[str, Any]:
    adv, f, now = call.advertiser(), _filters(call, "adgroup"), call.now
    fields = render.check_fields(call.params.string_list("fields"), render.ADGROUP_FIELDS)
    rows = [
        render.adgroup(call.world, g, now, fields)
        for g in call.world.visible(adv, "adgroup", now)
        if isinstance(g, AdGroup)
        and is_smart(g)
        and _ok(f, {"campaign_ids": g.campaign.campaign_id, "adgroup_ids": g.adgroup_id})
    ]
    return _page(call, "adgroup", rows)


def _alive(call: Call, sp: SmartPlusAd) -> bool:
    return not call.world.is_deleted(sp.adgroup, call.now) and any(
        call.world.operation_status(a, call.now) != "DELETE" for a in sp.creatives
    )


def render_ad(call: Call, sp: SmartPlusAd) -> dict[str, Any]:
    """One Smart+ ad as smart_plus/ad/get/ answers it; status and delivery are its first creative's."""
    g, now, world = sp.adgroup, call.now, call.world
    lead = sp.creatives[0]
    return {
        "advertiser_id": g.campaign.advertiser.advertiser_id,
        "campaign_id": g.campaign.campaign_id,
        "adgroup_id": g.adgroup_id,
        "smart_plus_ad_id": sp.smart_plus_ad_id,
        "ad_name": sp.name,
        "operation_status": world.operation_status(lead, now),
        "secondary_status": world.secondary_status(lead, now),
        "creative_list": [{"ad_id": a.ad_id, "material_name": a.name} for a in sp.creatives],
        "create_time": render.utc_text(lead.create_time),
        "modify_time": render.utc_text(max(a.modify_time for a in sp.creatives)),
    }


async def ad_get(call: Call) -> dict[str, Any]:
    adv, f = call.advertiser(), _filters(call, "ad")
    ads = sorted(
        (sp for sp in call.world.smart_plus.ads.values() if sp.adgroup.campaign.advertiser is adv),
        key=lambda sp: int(sp.smart_plus_ad_id),
        reverse=True,
    )
    rows = [
        render_ad(call, sp)
        for sp in ads
        if _alive(call, sp)
        and _ok(
            f,
            {
                "campaign_ids": sp.adgroup.campaign.campaign_id,
                "adgroup_ids": sp.adgroup.adgroup_id,
                "smart_plus_ad_ids": sp.smart_plus_ad_id,
            },
        )
    ]
    return _page(call, "ad", rows)


def _ids(call: Call, name: str) -> list[str]:
    ids = checked_strings(name, call.params.structured(name, list, required=True), ids=True)
    if not 1 <= len(ids) <= MAX_IDS:
        raise param_error(f"{name}: Length must be between 1 and {MAX_IDS}.")
    return list(dict.fromkeys(ids))


def _status(call: Call, kind: str, key: str, id_field: str, find: Any) -> Answer:
    call.advertiser()
    ids = _ids(call, key)
    status = call.params.choice("operation_status", STATUSES, required=True)
    assert status is not None
    ok, errors, targets = [], [], []
    for i in ids:
        target = find(i)
        if target is None:
            errors.append({id_field: i, "error_message": f"{id_field} {i} is not an Upgraded Smart+ {kind} here."})
        elif call.world.is_deleted(target.adgroup if isinstance(target, SmartPlusAd) else target, call.now):
            errors.append({id_field: i, "error_message": f"{id_field} {i} is deleted and cannot be changed."})
        else:
            ok.append(i)
            targets.append(target)
    if errors and not ok:
        raise param_error("; ".join(e["error_message"] for e in errors))
    for target in targets:
        members = target.creatives if isinstance(target, SmartPlusAd) else [target]
        before = call.world.operation_status(members[0], call.now)
        for m in members:
            call.world.set_status(m, status, call.now)
        changelog.record(call.sandbox, target, "STATUS", before, status, call.now)
    data = {key: ok, "status": status, "error_list": errors}
    return Answer(data, code=PARTIAL, message="Partial success: see error_list.") if errors else Answer(data)


async def campaign_status_update(call: Call) -> Answer:
    adv = call.advertiser()

    def find(i: str) -> Campaign | None:
        c = adv.campaign_index.get(i)
        return c if c is not None and is_smart(c) else None

    return _status(call, "campaign", "campaign_ids", "campaign_id", find)


async def adgroup_status_update(call: Call) -> Answer:
    adv = call.advertiser()

    def find(i: str) -> AdGroup | None:
        g = adv.adgroup_index.get(i)
        return g if g is not None and is_smart(g) else None

    return _status(call, "ad group", "adgroup_ids", "adgroup_id", find)


async def ad_status_update(call: Call) -> Answer:
    adv = call.advertiser()

    def find(i: str) -> SmartPlusAd | None:
        sp = call.world.smart_plus.ads.get(i)
        return sp if sp is not None and sp.adgroup.campaign.advertiser is adv else None

    return _status(call, "ad", "smart_plus_ad_ids", "smart_plus_ad_id", find)


async def campaign_update(call: Call) -> dict[str, Any]:
    adv, p = call.advertiser(), call.params
    campaign_id = p.id("campaign_id")
    c = adv.campaign_index.get(campaign_id or "")
    if c is None or not is_smart(c):
        raise param_error(f"campaign_id: {campaign_id} is not an Upgraded Smart+ campaign of this advertiser.")
    if call.world.is_deleted(c, call.now):
        raise param_error(f"campaign_id: {campaign_id} is deleted and cannot be changed.")
    name, budget = p.string("campaign_name"), p.number("budget")
    if budget is not None:
        problem = budget_problem(call, adv, c, budget)
        if problem:
            raise param_error(problem)
        before = c.budgets.at(call.now) or 0.0
        if budget != before:
            call.world.set_campaign_budget(c, budget, call.now)
            changelog.record(call.sandbox, c, "BUDGET", before, budget, call.now)
    if name:
        call.world.rename_campaign(c, name, call.now)
    return render.campaign(call.world, c, call.now, None)


async def adgroup_budget_update(call: Call) -> dict[str, Any]:
    adv, p = call.advertiser(), call.params
    changes: list[tuple[AdGroup, float]] = []
    for key, mode in (("budget", TOTAL), ("scheduled_budget", DAY)):
        items = p.structured(key, list) or []
        if len(items) > MAX_IDS:
            raise param_error(f"{key}: Length must be between 1 and {MAX_IDS}.")
        for item in items:
            if not isinstance(item, dict) or "adgroup_id" not in item or key not in item:
                raise param_error(f"{key}: Each item must be an object with adgroup_id and {key}.")
            gid = checked_strings(f"{key}.adgroup_id", [item["adgroup_id"]], ids=True)[0]
            g = adv.adgroup_index.get(gid)
            if g is None or not is_smart(g) or call.world.is_deleted(g, call.now):
                raise param_error(f"{key}: adgroup_id {gid} is not a live Upgraded Smart+ ad group here.")
            if g.budget_mode != mode:
                other = "scheduled_budget" if g.budget_mode == DAY else "budget"
                raise param_error(f"{key}: adgroup_id {gid} uses {g.budget_mode}; change its budget with {other}.")
            value = to_number(f"{key}.{key}", item[key])
            problem = budget_problem(call, adv, g, value)
            if problem:
                raise param_error(f"adgroup_id {gid}: {problem}")
            changes.append((g, value))
    if not changes:
        raise param_error("budget: Pass a non-empty budget (lifetime) or scheduled_budget (daily) list.")
    for g, value in changes:
        before = g.budgets.at(call.now) or 0.0
        call.world.set_adgroup_budget(g, value, call.now)
        changelog.record(call.sandbox, g, "BUDGET", before, value, call.now)
    return {}
