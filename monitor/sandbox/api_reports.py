"""report/integrated/get/ (sync) and the async report task endpoints (tiktok-api.md §7).

Async download (``report/task/download/``) of a task created with ``output_format`` CSV_STRING (the default)
answers the CSV text itself (``Content-Type: text/csv; charset=utf-8``, no JSON envelope): a header row with the
requested dimension names then metric names, in request order, then one line per report row with the same
string values the sync report gives (money "14.68", counts "1079", "-" for no data); rows in the sync default
order, all of them (no pagination, no 20 000-ad cap); lines end with "\\n". CSV_DOWNLOAD answers the envelope
``{download_url, file_name, output_format}`` where the URL (valid while the sandbox runs, no token needed)
serves that same CSV. XLSX_DOWNLOAD is not simulated (40002).

Reports are computed in the sandbox's worker thread (:meth:`SandboxState.offload`): one over 100,000 ads
takes most of a second, and on the server's event loop it would hold back every request arriving meanwhile,
which would then be logged, and counted by the rate limit, together (issue 18: the sandbox saw more requests in
one second than were sent in any second).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from monitor.sandbox.call import Answer, Call
from monitor.sandbox.params import ApiFailure, page_info, param_error
from monitor.sandbox.report import ReportResult, format_row, run_report
from monitor.sandbox.report_query import parse_report_query
from monitor.sandbox.tasks import CANCELED, FAILED, QUEUING, SUCCESS, ReportTask

THROTTLE_HEADER = "X-Tt-Ads-Throttle"
#: Set by the server when a ``task_failed`` fault was consumed by this request.
FAIL_TASK_KEY = "sandbox.fail_task"
TASK_ERROR, TASK_NOT_READY = 40200, 40201
FORMATS = ("CSV_STRING", "CSV_DOWNLOAD", "XLSX_DOWNLOAD")


async def report_integrated_get(call: Call) -> Answer:
    q = parse_report_query(call.params, sync=True)
    adv = call.advertiser()
    result = await call.sandbox.offload(lambda: call.sandbox.report_cache.get_or_run(call.world, adv, q, call.now))
    page = result.rows[(q.page - 1) * q.page_size : q.page * q.page_size]
    rows = [dict(zip(("dimensions", "metrics"), format_row(result, r), strict=True)) for r in page]
    headers = {THROTTLE_HEADER: "true"} if result.truncated else {}
    return Answer({"list": rows, "page_info": page_info(len(result.rows), q.page, q.page_size)}, headers=headers)


def to_csv(result: ReportResult) -> str:
    """The CSV_STRING body: header = dimension names then metric names; values as in the sync report."""
    q = result.query
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*q.dimensions, *q.metrics])
    for row in result.rows:
        dims, metrics = format_row(result, row)
        writer.writerow([*(dims[d] for d in q.dimensions), *(metrics[m] for m in q.metrics)])
    return buf.getvalue()


async def task_create(call: Call) -> dict[str, Any]:
    q = parse_report_query(call.params, sync=False)
    adv = call.advertiser()
    fmt = call.params.choice("output_format", FORMATS, default="CSV_STRING")
    assert fmt is not None
    if fmt == "XLSX_DOWNLOAD":
        raise param_error(
            "output_format: XLSX_DOWNLOAD is not simulated by the sandbox; use CSV_STRING or CSV_DOWNLOAD."
        )
    text = await call.sandbox.offload(lambda: to_csv(run_report(call.world, adv, q, call.now, sync=False)))
    file_name = call.params.string("file_name") or "report"
    task = call.sandbox.tasks.create(adv.advertiser_id, text, fmt, file_name)
    return {"task_id": task.task_id}


def _task(call: Call) -> ReportTask:
    adv = call.advertiser()
    task_id = call.params.id("task_id")
    assert task_id is not None
    task = call.sandbox.tasks.get(adv.advertiser_id, task_id)
    if task is None:
        raise param_error(f"task_id: Task {task_id} does not exist for advertiser {adv.advertiser_id}.")
    return task


async def task_check(call: Call) -> dict[str, Any]:
    task = call.sandbox.tasks.check(_task(call), call.request.get(FAIL_TASK_KEY))
    data: dict[str, Any] = {"task_id": task.task_id, "status": task.status}
    if task.status == FAILED:
        data["message"] = task.message
    return data


async def task_download(call: Call) -> web.StreamResponse | dict[str, Any]:
    task = _task(call)
    if task.status in (FAILED, CANCELED):
        raise ApiFailure(TASK_ERROR, f"Task {task.task_id} is {task.status}; create a new task.")
    if task.status != SUCCESS:
        raise ApiFailure(
            TASK_NOT_READY, f"Task {task.task_id} is not ready yet (status {task.status}); check again later."
        )
    if task.output_format == "CSV_STRING":
        return web.Response(text=task.csv_text, content_type="text/csv", charset="utf-8")
    origin = str(call.request.url.origin())
    return {
        "download_url": f"{origin}/sandbox/reports/{task.task_id}",
        "file_name": f"{task.file_name}.csv",
        "output_format": task.output_format,
    }


async def task_cancel(call: Call) -> dict[str, Any]:
    task = _task(call)
    if task.status != QUEUING:
        raise param_error(f"task_id: Task {task.task_id} is {task.status} and can no longer be canceled.")
    task.status = CANCELED
    return {}
