"""Reading the Change Log API (tiktok-api.md §12; not in the official SDK): who changed what, when, and through
which app. A task: ``changelog/task/create/`` → ``changelog/task/check/`` until SUCCESS → ``changelog/task/download/``.

The download's shape is known only from an unofficial SDK, and its payload has been seen with Python-style
``b'...'`` quoting, so it is read defensively: rows under ``list`` (or ``data``/``rows``), values unquoted, any
field may be missing. Polls read it for ``changed_by`` (:mod:`monitor.whochanged`, :mod:`monitor.changes`).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.tiktok.errors import BadResponseError, PermanentApiError, TransientApiError
from monitor.tiktok.shape import answer_data
from monitor.tiktok.transport import Transport

CHECK_DELAYS = (1.0, 2.0, 3.0, 5.0, 10.0)
TASK_TIMEOUT = 600.0
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class FieldChange:
    field: str | None
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ChangeRecord:
    """One change: when (text, in the task's time zone), what, who (masked), through what, with which app."""

    time: str | None
    object_type: str | None
    object_id: str | None
    object_name: str | None
    module: str | None
    operator: str | None
    source: str | None
    app_id: str | None
    details: tuple[FieldChange, ...]


async def read_change_log(
    transport: Transport,
    advertiser_id: str,
    start: datetime,
    end: datetime,
    *,
    timezone: str = "UTC",
    modules: Iterable[str] = (),
    object_type: str | None = None,
    object_ids: Iterable[str] = (),
    max_wait: float = TASK_TIMEOUT,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> list[ChangeRecord]:
    """The changes between ``start`` and ``end`` (wall-clock times in ``timezone``, at most 30 days apart)."""
    sleep = sleep or transport.sleep
    body: dict[str, Any] = {
        "advertiser_id": advertiser_id,
        "start_time": start.strftime(TIME_FORMAT),
        "end_time": end.strftime(TIME_FORMAT),
        "timezone": timezone,
    }
    if modules:
        body["module"] = list(modules)
    if object_type:
        body["object_type"] = object_type
    if object_ids:
        body["object_ids"] = list(object_ids)
    path = "changelog/task/create/"
    created = await transport.request("POST", path, body=body, advertiser_id=advertiser_id)
    task_id = answer_data(created, path, advertiser_id).id("task_id")
    params = {"advertiser_id": advertiser_id, "task_id": task_id}
    waited, attempt = 0.0, 0
    while True:
        delay = CHECK_DELAYS[min(attempt, len(CHECK_DELAYS) - 1)]
        attempt += 1
        await sleep(delay)
        waited += delay
        check = await transport.request("GET", "changelog/task/check/", params=params, advertiser_id=advertiser_id)
        status = answer_data(check, "changelog/task/check/", advertiser_id).text("status")
        if status == "SUCCESS":
            break
        if status in ("FAILED", "CANCELED"):
            raise PermanentApiError(f"change log task {task_id} {status.lower()}", endpoint="changelog/task/check/")
        if waited >= max_wait:
            raise TransientApiError(
                f"change log task {task_id} not ready after {waited:.0f} s", endpoint="changelog/task/check/"
            )
    download = await transport.request("GET", "changelog/task/download/", params=params, advertiser_id=advertiser_id)
    return parse_rows(download.data, advertiser_id)


def parse_rows(data: Any, advertiser_id: str | None = None) -> list[ChangeRecord]:
    """The records of a download's ``data``, read defensively (see the module docstring)."""
    data = _decoded(data)
    rows = None
    if isinstance(data, Mapping):
        rows = next((data[k] for k in ("list", "data", "rows") if isinstance(data.get(k), list)), None)
    elif isinstance(data, list):
        rows = data
    if rows is None:
        raise BadResponseError(
            "the change log download has no list of rows",
            field="data.list",
            endpoint="changelog/task/download/",
            advertiser_id=advertiser_id,
        )
    return [_record(r) for r in (_decoded(row) for row in rows) if isinstance(r, Mapping)]


def _record(row: Mapping[str, Any]) -> ChangeRecord:
    details = _decoded(row.get("activity_details") or row.get("details") or [])
    changes = tuple(
        FieldChange(_text(d.get("field")), _text(d.get("before")), _text(d.get("after")))
        for d in (_decoded(x) for x in (details if isinstance(details, list) else [details]))
        if isinstance(d, Mapping)
    )
    return ChangeRecord(
        time=_text(row.get("operate_time") or row.get("time")),
        object_type=_text(row.get("object_type")),
        object_id=_text(row.get("object_id")),
        object_name=_text(row.get("object_name")),
        module=_text(row.get("module")),
        operator=_text(row.get("operator")),
        source=_text(row.get("source")),
        app_id=_text(row.get("app_id")) or None,
        details=changes,
    )


def _decoded(value: Any) -> Any:
    """A JSON or ``b'...'``-quoted string turned into what it holds; anything else as it is."""
    if isinstance(value, str):
        text = _unquoted(value)
        if text[:1] in ("{", "["):
            try:
                return json.loads(text)
            except ValueError:
                try:
                    return ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    return text
        return text
    return value


def _unquoted(text: str) -> str:
    if len(text) >= 3 and text[0] == "b" and text[1] in "'\"" and text[-1] == text[1]:
        return text[2:-1]
    return text


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return _unquoted(str(value))
