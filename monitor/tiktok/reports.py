"""The asynchronous report (report/task/create, check, download) for accounts past the sync report's cap.

The sync report covers at most 20,000 ads; a task has no such cap and no pagination, at the price of
latency (create, poll until SUCCESS, download). Task creation is limited to about 1 QPS per app, which the
shared limiter's budget covers for the daemon's rare use.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable, Sequence

from monitor.tiktok.errors import PermanentApiError, TransientApiError
from monitor.tiktok.models import Report, ReportQuery, ReportRow, parse_metric
from monitor.tiktok.transport import Transport

#: Seconds between status checks: short at first, then patient.
CHECK_DELAYS = (1.0, 2.0, 3.0, 5.0, 10.0)
#: Give up on a task that is not ready after this many seconds.
TASK_TIMEOUT = 600.0


async def run_report_task(
    transport: Transport,
    advertiser_id: str,
    query: ReportQuery,
    *,
    max_wait: float = TASK_TIMEOUT,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> Report:
    """Create a task, wait for it, download CSV_STRING output and parse it like the sync report."""
    sleep = sleep or transport.sleep
    body = query.params(advertiser_id)
    body.update(output_format="CSV_STRING", enable_report_title_translation=False)
    created = await transport.request("POST", "report/task/create/", body=body, advertiser_id=advertiser_id)
    task_id = created.data.get("task_id")
    if not task_id:
        raise TransientApiError(
            "report task was not created (no task_id)",
            endpoint="report/task/create/",
            request_id=created.request_id,
            advertiser_id=advertiser_id,
        )
    request_ids = [created.request_id]
    params = {"advertiser_id": advertiser_id, "task_id": str(task_id)}
    waited = 0.0
    for attempt in range(10_000):
        check = await transport.request("GET", "report/task/check/", params=params, advertiser_id=advertiser_id)
        request_ids.append(check.request_id)
        status = str(check.data.get("status") or "")
        if status == "SUCCESS":
            break
        if status in ("FAILED", "CANCELED"):
            raise PermanentApiError(
                f"report task {task_id} {status.lower()}: {check.data.get('message') or ''}".strip(),
                endpoint="report/task/check/",
                request_id=check.request_id,
                advertiser_id=advertiser_id,
            )
        if waited >= max_wait:
            raise TransientApiError(
                f"report task {task_id} not ready after {max_wait:.0f}s ({status})",
                endpoint="report/task/check/",
                advertiser_id=advertiser_id,
            )
        delay = CHECK_DELAYS[min(attempt, len(CHECK_DELAYS) - 1)]
        await sleep(delay)
        waited += delay
    download = await transport.request(
        "GET", "report/task/download/", params=params, advertiser_id=advertiser_id, allow_raw=True
    )
    request_ids.append(download.request_id)
    text = download.text
    if text is None:  # a JSON answer: the *_DOWNLOAD formats give a URL to fetch instead of the CSV itself
        url = download.data.get("download_url")
        if not url:
            raise TransientApiError(
                "report download had neither CSV nor a download_url",
                endpoint="report/task/download/",
                advertiser_id=advertiser_id,
            )
        text = await transport.fetch_url(str(url))
    return Report(rows=parse_csv_report(text, query.dimensions), request_ids=tuple(r for r in request_ids if r))


def parse_csv_report(text: str, dimensions: Sequence[str]) -> tuple[ReportRow, ...]:
    """CSV with a header row of column names: dimension columns stay strings, the rest are metrics."""
    text = text.lstrip("\ufeff")
    if text.lstrip().startswith("{"):  # an envelope where CSV was expected
        try:
            envelope = json.loads(text)
        except ValueError:
            envelope = {}
        raise TransientApiError(
            f"expected CSV, got JSON: {envelope.get('message', '')}",
            endpoint="report/task/download/",
            code=envelope.get("code"),
        )
    dimension_set = set(dimensions)
    rows = []
    for record in csv.DictReader(io.StringIO(text)):
        dims = {k: (v or "") for k, v in record.items() if k in dimension_set}
        metrics = {k: parse_metric(k, v) for k, v in record.items() if k and k not in dimension_set}
        rows.append(ReportRow(dimensions=dims, metrics=metrics))
    return tuple(rows)
