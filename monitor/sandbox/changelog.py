"""The Change Log API (tiktok-api.md §12): who changed what, recorded by the sandbox and read as TikTok does,
through a task: ``changelog/task/create/`` → ``changelog/task/check/`` → ``changelog/task/download/``.

Recorded: every status and budget change of a campaign, ad group or (Smart+) ad, with its operator, source and
app id. Writes through the API (the monitor's) carry source "Marketing API" and the sandbox's app id; changes made
through ``POST /sandbox/changes`` model people in the web UI (source "TikTok Ads Manager", a masked e-mail, no app
id) or TikTok itself (source "System"). The task is a snapshot of the log at creation, PROCESSING at its first
check and SUCCESS from the second (or a second after creation), like the report tasks; its download answers
``total_count`` then ``list`` rows with ``activity_details`` [{field, before, after}] (values as strings).
The real payload has been seen with Python-style ``b'...'`` quoting: the sandbox sends plain JSON.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from monitor.sandbox.call import Call
from monitor.sandbox.entities import Ad, AdGroup, Campaign
from monitor.sandbox.params import ApiFailure, checked_strings, param_error

if TYPE_CHECKING:
    from monitor.sandbox.smartplus import SmartPlusAd
    from monitor.sandbox.state import SandboxState

MODULES = ("BIDDING_AND_OPTIMIZATION", "BUDGET", "STATUS", "TARGETING")
OBJECT_TYPES = ("AD", "ADGROUP", "ADVERTISER", "CAMPAIGN", "INSTANT_FORM")
MAX_DAYS = 30
READY_AFTER = 1.0
TASK_NOT_READY = 40201
#: Who made a change: (operator, source, app id or None for the API's own app id).
ACTORS = {
    "person": ("m***@example.com", "TikTok Ads Manager", ""),
    "tiktok": ("TikTok", "System", ""),
}
API_OPERATOR = "a***@example.com"
API_SOURCE = "Marketing API"


@dataclass(frozen=True, slots=True)
class Change:
    """One change of one object: ``module`` STATUS (field operation_status) or BUDGET (field budget)."""

    at: float
    advertiser_id: str
    object_type: str
    object_id: str
    object_name: str
    module: str
    before: str
    after: str
    operator: str
    source: str
    app_id: str


@dataclass(slots=True)
class ChangeTask:
    task_id: str
    advertiser_id: str
    rows: list[dict[str, Any]]
    created: float
    checks: int = 0
    status: str = "PROCESSING"


@dataclass
class ChangeLog:
    """The recorded changes and the tasks that read them."""

    monotonic: Callable[[], float] = time.monotonic
    changes: list[Change] = field(default_factory=list)
    tasks: dict[str, ChangeTask] = field(default_factory=dict)
    _seq: Any = field(default_factory=lambda: itertools.count(1))

    def record(self, change: Change) -> None:
        self.changes.append(change)


def object_of(entity: Campaign | AdGroup | Ad | SmartPlusAd) -> tuple[str, str, str, str]:
    """(advertiser id, object type, object id, object name) of what changed."""
    if isinstance(entity, Campaign):
        return entity.advertiser.advertiser_id, "CAMPAIGN", entity.campaign_id, entity.name
    if isinstance(entity, AdGroup):
        return entity.campaign.advertiser.advertiser_id, "ADGROUP", entity.adgroup_id, entity.name
    if isinstance(entity, Ad):
        return entity.adgroup.campaign.advertiser.advertiser_id, "AD", entity.ad_id, entity.name
    adv = entity.adgroup.campaign.advertiser.advertiser_id
    return adv, "AD", entity.smart_plus_ad_id, entity.name


def record(
    sandbox: SandboxState,
    entity: Campaign | AdGroup | Ad | SmartPlusAd,
    module: str,
    before: object,
    after: object,
    now: float,
    actor: str = "api",
) -> None:
    """Log one change made by ``actor``: "api" (the Marketing API, this app), "person" or "tiktok"."""
    if str(before) == str(after):
        return
    operator, source, app_id = ACTORS.get(actor, (API_OPERATOR, API_SOURCE, sandbox.settings.app_id))
    advertiser_id, kind, object_id, name = object_of(entity)
    sandbox.changelog.record(
        Change(now, advertiser_id, kind, object_id, name, module, _text(before), _text(after), operator, source, app_id)
    )


def _text(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _when(p_value: object, name: str) -> float:
    try:
        if not isinstance(p_value, str):
            raise ValueError
        return datetime.strptime(p_value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise param_error(f"{name}: Not a valid time (YYYY-MM-DD HH:MM:SS).") from None


def _choices(call: Call, name: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
    if not call.params.has(name):
        return None
    raw = call.params.raw(name)
    values = [raw] if isinstance(raw, str) else checked_strings(name, call.params.structured(name, list))
    wrong = [v for v in values if v not in allowed]
    if wrong:
        raise param_error(f"{name}: Invalid value(s) {', '.join(wrong)}; allowed: {', '.join(allowed)}.")
    return frozenset(values)


async def task_create(call: Call) -> dict[str, Any]:
    """POST changelog/task/create/: the matching changes, snapshotted now; returns the task id."""
    adv = call.advertiser()
    p = call.params
    zone_name = p.string("timezone") or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise param_error(f"timezone: Unknown time zone {zone_name!r}.") from None
    start = _when(p.string("start_time", required=True), "start_time")
    end = _when(p.string("end_time", required=True), "end_time")
    if end < start or end - start > MAX_DAYS * 86_400:
        raise param_error(f"end_time: Must be after start_time and at most {MAX_DAYS} days from it.")
    # the times are wall-clock times in ``timezone``: shift the UTC readings by its offset at start
    offset = datetime.fromtimestamp(start, zone).utcoffset()
    shift = offset.total_seconds() if offset is not None else 0.0
    start, end = start - shift, end - shift
    modules = _choices(call, "module", MODULES)
    kinds = _choices(call, "object_type", OBJECT_TYPES)
    ids = (
        set(checked_strings("object_ids", p.structured("object_ids", list), ids=True)) if p.has("object_ids") else None
    )
    if p.has("operation_types"):
        checked_strings("operation_types", p.structured("operation_types", list))
    rows = [
        _row(c, zone)
        for c in call.sandbox.changelog.changes
        if c.advertiser_id == adv.advertiser_id
        and start <= c.at <= end
        and (modules is None or c.module in modules)
        and (kinds is None or c.object_type in kinds)
        and (ids is None or c.object_id in ids)
    ]
    log = call.sandbox.changelog
    task_id = f"75{next(log._seq):017d}"
    log.tasks[task_id] = ChangeTask(task_id, adv.advertiser_id, rows, log.monotonic())
    return {"task_id": task_id}


def _row(c: Change, zone: ZoneInfo) -> dict[str, Any]:
    field_name = "operation_status" if c.module == "STATUS" else "budget"
    return {
        "operate_time": datetime.fromtimestamp(c.at, zone).strftime("%Y-%m-%d %H:%M:%S"),
        "object_type": c.object_type,
        "object_id": c.object_id,
        "object_name": c.object_name,
        "module": c.module,
        "operation_type": "UPDATE",
        "operator": c.operator,
        "source": c.source,
        "app_id": c.app_id,
        "activity_details": [{"field": field_name, "before": c.before, "after": c.after}],
    }


def _task(call: Call) -> ChangeTask:
    adv = call.advertiser()
    task_id = call.params.id("task_id")
    task = call.sandbox.changelog.tasks.get(task_id or "")
    if task is None or task.advertiser_id != adv.advertiser_id:
        raise param_error(f"task_id: Task {task_id} does not exist for this advertiser.")
    return task


async def task_check(call: Call) -> dict[str, Any]:
    """GET changelog/task/check/: PROCESSING at the first check (unless a second has passed), then SUCCESS."""
    task = _task(call)
    log = call.sandbox.changelog
    if task.status == "PROCESSING" and (task.checks >= 1 or log.monotonic() - task.created >= READY_AFTER):
        task.status = "SUCCESS"
    task.checks += 1
    return {"task_id": task.task_id, "status": task.status}


async def task_download(call: Call) -> dict[str, Any]:
    """GET changelog/task/download/: the rows of a SUCCESS task (40201 before that)."""
    task = _task(call)
    if task.status != "SUCCESS":
        raise ApiFailure(TASK_NOT_READY, f"Task {task.task_id} is not ready yet ({task.status}).")
    return {"total_count": len(task.rows), "list": task.rows}


def add_changes_route(app: web.Application, sandbox: SandboxState) -> None:
    """``POST /sandbox/changes``: a change made by a person (web UI) or by TikTok, not through the API."""

    async def change(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            applied = apply_change(sandbox, body if isinstance(body, dict) else {})
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True, **applied})

    app.router.add_post("/sandbox/changes", change)


def apply_change(sandbox: SandboxState, body: dict[str, Any]) -> dict[str, Any]:
    """Apply ``{"entity_id", "by": "person"|"tiktok", "operation_status"?, "budget"?}`` now, logged as by ``by``."""
    by = body.get("by", "person")
    if by not in ACTORS:
        raise ValueError(f"by must be one of {', '.join(ACTORS)}")
    world, now = sandbox.world, sandbox.now()
    entity = world.find(str(body["entity_id"]))
    if entity is None:
        raise KeyError(f"no campaign, ad group or ad {body['entity_id']}")
    status = body.get("operation_status")
    if status is not None:
        if status not in ("ENABLE", "DISABLE", "DELETE"):
            raise ValueError("operation_status must be ENABLE, DISABLE or DELETE")
        before = world.operation_status(entity, now)
        world.set_status(entity, status, now)
        record(sandbox, entity, "STATUS", before, status, now, by)
    budget = body.get("budget")
    if budget is not None:
        value = float(budget)
        if isinstance(entity, Campaign):
            before_budget = entity.budgets.at(now) or 0.0
            world.set_campaign_budget(entity, value, now)
        elif isinstance(entity, AdGroup):
            before_budget = entity.budgets.at(now) or 0.0
            world.set_adgroup_budget(entity, value, now)
        else:
            raise ValueError("ads have no budget")
        record(sandbox, entity, "BUDGET", before_budget, value, now, by)
    return {"entity_id": str(body["entity_id"]), "by": by}
