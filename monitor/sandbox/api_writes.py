"""Writes: status updates (§5) and budget changes (§6). POST, JSON bodies; all-or-nothing unless
``allow_partial_success`` (ad groups only, as documented), which answers code 20001 with an ``error_list``.

Budget edits go through :func:`budgets.check_budget` (minimum × currency ratio, ≥105 % of spend, the
23:55–00:00 lock window, whole units for JPY). ``campaign/update/`` changes the budget at once and returns the
campaign; ``adgroup/budget/update/`` applies ``budget`` (lifetime ad groups) at once and ``scheduled_budget``
(daily ad groups) at the next local midnight, and returns ``data`` {}.
"""

from __future__ import annotations

from typing import Any

from monitor.sandbox import changelog, render
from monitor.sandbox.budgets import CURRENCIES, check_budget
from monitor.sandbox.call import Answer, Call
from monitor.sandbox.entities import DAY, TOTAL, Ad, AdGroup, Advertiser, Campaign
from monitor.sandbox.params import Params, checked_strings, param_error, to_number
from monitor.sandbox.smartplus import is_smart

STATUSES = ("ENABLE", "DISABLE", "DELETE")
MAX_IDS = 20
PARTIAL = 20001
DAY_S = 86_400.0


def _ids(p: Params, name: str) -> list[str]:
    ids = checked_strings(name, p.structured(name, list, required=True), ids=True)
    if not 1 <= len(ids) <= MAX_IDS:
        raise param_error(f"{name}: Length must be between 1 and {MAX_IDS}.")
    return list(dict.fromkeys(ids))


def _problem(call: Call, kind: str, entity: Campaign | AdGroup | Ad | None, entity_id: str) -> str | None:
    if entity is None:
        return f"{kind}_id {entity_id} does not exist in this advertiser."
    if call.world.is_deleted(entity, call.now):
        return f"{kind}_id {entity_id} is deleted (or under a deleted parent) and cannot be changed."
    if is_smart(entity):
        return f"{kind}_id {entity_id} belongs to an Upgraded Smart+ campaign: use the smart_plus/{kind}/ endpoints."
    return None


def _status_update(
    call: Call, kind: str, index: dict[str, Any], ids: list[str], *, partial: bool
) -> tuple[str, list[str], list[dict[str, str]]]:
    status = call.params.choice("operation_status", STATUSES, required=True)
    assert status is not None
    ok: list[str] = []
    errors: list[dict[str, str]] = []
    for entity_id in ids:
        problem = _problem(call, kind, index.get(entity_id), entity_id)
        if problem:
            errors.append({f"{kind}_id": entity_id, "error_message": problem})
        else:
            ok.append(entity_id)
    if errors and not partial:
        raise param_error("; ".join(e["error_message"] for e in errors))
    for entity_id in ok:
        before = call.world.operation_status(index[entity_id], call.now)
        call.world.set_status(index[entity_id], status, call.now)
        changelog.record(call.sandbox, index[entity_id], "STATUS", before, status, call.now)
    return status, ok, errors


async def campaign_status_update(call: Call) -> dict[str, Any]:
    adv = call.advertiser()
    ids = _ids(call.params, "campaign_ids")
    if call.params.has("postback_window_mode") and call.params.raw("operation_status") != "DISABLE":
        raise param_error("postback_window_mode: Only allowed with operation_status DISABLE.")
    status, ok, _ = _status_update(call, "campaign", adv.campaign_index, ids, partial=False)
    return {
        "campaign_ids": ok,
        "status": status,
        "campaign_list": [{"campaign_id": i, "status": status, "postback_window_mode": None} for i in ok],
    }


async def adgroup_status_update(call: Call) -> Answer:
    adv = call.advertiser()
    ids = _ids(call.params, "adgroup_ids")
    partial = call.params.boolean("allow_partial_success")
    status, ok, errors = _status_update(call, "adgroup", adv.adgroup_index, ids, partial=partial)
    data: dict[str, Any] = {"adgroup_ids": ok, "status": status}
    if partial:
        data["error_list"] = errors
    if errors:
        return Answer(data, code=PARTIAL, message="Partial success: see error_list.")
    return Answer(data)


async def ad_status_update(call: Call) -> dict[str, Any]:
    adv = call.advertiser()
    p = call.params
    if p.has("ad_ids") == p.has("aco_ad_ids"):
        raise param_error("ad_ids: Pass exactly one of ad_ids or aco_ad_ids.")
    if p.has("aco_ad_ids"):
        ids = _ids(p, "aco_ad_ids")
        raise param_error(f"aco_ad_ids: ACO ad(s) {', '.join(ids)} do not exist in this advertiser.")
    status, ok, _ = _status_update(call, "ad", adv.ad_index, _ids(p, "ad_ids"), partial=False)
    return {"ad_ids": ok, "aco_ad_ids": [], "status": status}


def budget_problem(call: Call, adv: Advertiser, entity: Campaign | AdGroup, value: float) -> str | None:
    world, now = call.world, call.now
    mode = entity.budget_mode
    spent = world.spend_today(entity, now) if mode == DAY else world.spend_lifetime(entity, now)
    days = 1
    if isinstance(entity, AdGroup) and entity.schedule_end is not None:
        days = max(1, round((entity.schedule_end - entity.create_time) / DAY_S))
    return check_budget(
        kind="campaign" if isinstance(entity, Campaign) else "adgroup",
        mode=mode,
        value=value,
        currency=CURRENCIES[adv.currency],
        spent=spent,
        locked=adv.calendar.in_budget_lock(now),
        zone_name=adv.zone_name,
        scheduled_days=days,
    )


async def campaign_update(call: Call) -> dict[str, Any]:
    adv = call.advertiser()
    p = call.params
    campaign_id = p.id("campaign_id")
    assert campaign_id is not None
    c = adv.campaign_index.get(campaign_id)
    problem = _problem(call, "campaign", c, campaign_id)
    if problem or c is None:
        raise param_error(f"campaign_id: {problem}")
    if p.has("budget_mode") and p.raw("budget_mode") != c.budget_mode:
        raise param_error("budget_mode: The budget mode of an existing campaign cannot be changed.")
    name = p.string("campaign_name")
    if name is not None and len(name) > 512:
        raise param_error("campaign_name: Length must be at most 512 characters.")
    budget = p.number("budget")
    if budget is not None:
        problem = budget_problem(call, adv, c, budget)
        if problem:
            raise param_error(problem)
    if name is not None:
        call.world.rename_campaign(c, name, call.now)
    if budget is not None and budget != c.budgets.at(call.now):
        changelog.record(call.sandbox, c, "BUDGET", c.budgets.at(call.now) or 0.0, budget, call.now)
        call.world.set_campaign_budget(c, budget, call.now)
    return render.campaign(call.world, c, call.now, None)


async def adgroup_budget_update(call: Call) -> dict[str, Any]:
    adv = call.advertiser()
    p = call.params
    lifetime = p.structured("budget", list) or []
    daily = p.structured("scheduled_budget", list) or []
    if not lifetime and not daily:
        raise param_error("budget: Pass a non-empty budget (lifetime) or scheduled_budget (daily) list.")
    changes: list[tuple[AdGroup, float]] = []
    problems: list[str] = []
    for key, items, mode in (("budget", lifetime, TOTAL), ("scheduled_budget", daily, DAY)):
        if len(items) > MAX_IDS:
            raise param_error(f"{key}: Length must be between 1 and {MAX_IDS}.")
        for item in items:
            if not isinstance(item, dict) or "adgroup_id" not in item or key not in item:
                raise param_error(f"{key}: Each item must be an object with adgroup_id and {key}.")
            gid = checked_strings(f"{key}.adgroup_id", [item["adgroup_id"]], ids=True)[0]
            value = to_number(f"{key}.{key}", item[key])
            g = adv.adgroup_index.get(gid)
            problem = _problem(call, "adgroup", g, gid)
            if problem is None and g is not None and g.budget_mode != mode:
                other = "scheduled_budget" if g.budget_mode == DAY else "budget"
                problem = f"adgroup_id {gid} uses {g.budget_mode}; change its budget with {other}."
            if problem is None and g is not None:
                found = budget_problem(call, adv, g, value)
                problem = f"adgroup_id {gid}: {found}" if found else None
            if problem or g is None:
                problems.append(problem or "")
            else:
                changes.append((g, value))
    if problems:
        raise param_error("; ".join(problems))
    for g, value in changes:
        changelog.record(call.sandbox, g, "BUDGET", g.budgets.at(call.now) or 0.0, value, call.now)
        call.world.set_adgroup_budget(g, value, call.now)
    return {}
