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
from dataclasses import dataclass

from monitor.tiktok.distinct_csv import KnownIds, distinct_rows
from monitor.tiktok.errors import ApiError, BadResponseError, PermanentApiError, TransientApiError
from monitor.tiktok.models import Report, ReportQuery, ReportRow
from monitor.tiktok.numeric_csv import numeric_table
from monitor.tiktok.report_table import DistinctRows, ReportTable, clear_undefined_ratio_columns, metric_column
from monitor.tiktok.shape import answer_data
from monitor.tiktok.transport import Transport

#: Seconds to wait before each status check: short at first, then patient. A task is never ready the moment
#: it was created, so even the first check waits: a check that can only answer QUEUING is a wasted call.
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
    """Create a task, wait for it (a second before the first check, then longer), download CSV_STRING output
    and check it (:func:`checked_csv`): three calls when the task is ready at the first check. The report's rows
    are read like the sync report's when it is first read (:class:`CsvBody`, :meth:`Report.table_off_loop`)."""
    sleep = sleep or transport.sleep
    body = query.params(advertiser_id)
    body.update(output_format="CSV_STRING", enable_report_title_translation=False)
    created = await transport.request("POST", "report/task/create/", body=body, advertiser_id=advertiser_id)
    task_id = answer_data(created, "report/task/create/", advertiser_id).id("task_id")
    request_ids = [created.request_id]
    params = {"advertiser_id": advertiser_id, "task_id": task_id}
    waited = 0.0
    for attempt in range(10_000):
        delay = CHECK_DELAYS[min(attempt, len(CHECK_DELAYS) - 1)]
        await sleep(delay)
        waited += delay
        check = await transport.request("GET", "report/task/check/", params=params, advertiser_id=advertiser_id)
        request_ids.append(check.request_id)
        checked = answer_data(check, "report/task/check/", advertiser_id)
        status = checked.text("status")
        if status is None:
            raise checked.error("status", "is missing")
        if status == "SUCCESS":
            break
        if status in ("FAILED", "CANCELED"):
            raise PermanentApiError(
                f"report task {task_id} {status.lower()}: {checked.text('message') or ''}".strip(),
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
    download = await transport.request(
        "GET", "report/task/download/", params=params, advertiser_id=advertiser_id, allow_raw=True
    )
    request_ids.append(download.request_id)
    text = download.text
    if text is None:  # a JSON answer: the *_DOWNLOAD formats give a URL to fetch instead of the CSV itself
        link = answer_data(download, "report/task/download/", advertiser_id)
        url = link.text("download_url")
        if not url:
            raise link.error("download_url", "is missing: the answer had neither CSV nor a download_url")
        text = await transport.fetch_url(url)
    # checked now (what it is, its header), its rows read when the report is read (Report.table_off_loop: in a
    # thread, 100,000 rows take about 0.1 s), so a poll holds the text of a report it has not used yet, not columns
    text = checked_csv(text, query.dimensions, advertiser_id=advertiser_id)
    unread = CsvBody(text, tuple(query.dimensions), advertiser_id)
    return Report(unread=unread, request_ids=tuple(r for r in request_ids if r))


@dataclass(frozen=True, slots=True)
class CsvBody:
    """An async report's CSV text, checked by :func:`checked_csv`: :meth:`read` parses it (:class:`Unread`)."""

    text: str
    dimensions: tuple[str, ...]
    advertiser_id: str | None = None

    def read(self) -> ReportTable:
        """The table; a row :mod:`csv` or a number cannot read (a bare carriage return, a number of thousands of
        digits) is a BadResponseError, as a body the download's check refuses is."""
        try:
            return parse_csv_table(self.text, self.dimensions, advertiser_id=self.advertiser_id)
        except ApiError:
            raise
        except (csv.Error, ValueError) as exc:
            raise BadResponseError(
                f"CSV cannot be read: {exc}",
                field="csv",
                endpoint="report/task/download/",
                advertiser_id=self.advertiser_id,
            ) from None

    def distinct(self, known: KnownIds | None = None) -> DistinctRows | None:
        """The body as its distinct rows (:func:`~monitor.tiktok.distinct_csv.distinct_rows`, ``known``: ids it
        likely lists) when it has one dimension and can be read so; None when not (:meth:`read` reads it then)."""
        if len(self.dimensions) != 1:
            return None
        return distinct_rows(self.text, self.dimensions[0], known)


def checked_csv(text: str, dimensions: Sequence[str], *, advertiser_id: str | None = None) -> str:
    """``text`` without a byte order mark, once its envelope and header are checked as :func:`parse_csv_table`
    checks them: raises as it would for an envelope where CSV was expected and for a header without a column for
    each of ``dimensions``. The rows are not read here: a row that cannot be read is found when the report is
    (:meth:`CsvBody.read`)."""
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
    if text and not text.isspace():
        _check_header(_header(text), dimensions, advertiser_id)
    return text


def _header(text: str) -> list[str]:
    """The CSV's header cells: its first line split at commas, or as :mod:`csv` reads it where it has a quote."""
    end = text.find("\n")
    line = (text if end < 0 else text[:end]).removesuffix("\r")
    if '"' in line or "\r" in line:
        return next(csv.reader(io.StringIO(text)), [])
    return line.split(",")


def _check_header(header: Sequence[str], dimensions: Sequence[str], advertiser_id: str | None) -> None:
    absent = [d for d in dimensions if d not in header]
    if absent:
        raise BadResponseError(
            f"CSV header has no column {', '.join(absent)} (columns: {', '.join(header)[:200] or 'none'})",
            field="csv header",
            endpoint="report/task/download/",
            advertiser_id=advertiser_id,
        )


def parse_csv_table(text: str, dimensions: Sequence[str], *, advertiser_id: str | None = None) -> ReportTable:
    """CSV with a header row of column names: dimension columns stay strings, the rest are metrics (a ratio over
    a zero count is None, :mod:`monitor.domain.ratios`). A CSV
    without a column for each of ``dimensions`` is a BadResponseError (its rows could not be attributed).
    A CSV of ids and numbers only (the usual report) is read by one JSON parse
    (:func:`~monitor.tiktok.numeric_csv.numeric_table`), any other by :func:`csv_table`: the same table."""
    text = checked_csv(text, dimensions, advertiser_id=advertiser_id)
    if not text or text.isspace():  # no header and no rows: an empty report
        return ReportTable({name: [] for name in dimensions}, {}, finite=True)
    table = numeric_table(text, dimensions)
    return csv_table(text, dimensions, advertiser_id=advertiser_id) if table is None else table


def csv_table(text: str, dimensions: Sequence[str], *, advertiser_id: str | None = None) -> ReportTable:
    """:func:`parse_csv_table`'s reading of any CSV (a header line, no byte order mark), by :mod:`csv`."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    _check_header(header, dimensions, advertiser_id)
    # Columns by position: a repeated column name keeps its last cell, as csv.DictReader did; a row's missing
    # cells read as "" for dimensions and None (no data) for metrics; a blank line is no row.
    dimension_set = set(dimensions)
    dims_at = {name: i for i, name in enumerate(header) if name in dimension_set}
    metrics_at = {name: i for i, name in enumerate(header) if name and name not in dimension_set}
    width = len(header)
    records = [r if len(r) >= width else r + [None] * (width - len(r)) for r in reader if r]
    columns: list[Sequence[str | None]] = list(zip(*records, strict=False)) if records else [()] * width
    metrics = {name: metric_column(name, columns[i]) for name, i in metrics_at.items()}
    clear_undefined_ratio_columns(metrics)
    # every value as metric_column reads it: a float that is not finite is no data (None)
    return ReportTable({name: [c or "" for c in columns[i]] for name, i in dims_at.items()}, metrics, finite=True)


def parse_csv_report(
    text: str, dimensions: Sequence[str], *, advertiser_id: str | None = None
) -> tuple[ReportRow, ...]:
    """:func:`parse_csv_table`'s rows, one :class:`ReportRow` each."""
    table = parse_csv_table(text, dimensions, advertiser_id=advertiser_id)
    return tuple(ReportRow(dimensions=d, metrics=m) for d, m in table.records())
