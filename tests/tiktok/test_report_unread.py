"""An async report's CSV is checked when it is downloaded and read when it is used (issue 18, peak memory).

A poll holds its early ad reports until its ad list has come; held as columns, four 100,000-ad reports were
some 70 MB at the poll's peak, held as text some 11 MB. The download's check refuses what reading the CSV's
envelope and header would refuse (an envelope where CSV was expected, a header without the dimensions), raised
where it was; a row that cannot be read is a BadResponseError when the report is read.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest

from monitor.domain import Level
from monitor.tiktok.errors import BadResponseError, TransientApiError
from monitor.tiktok.models import ReportQuery
from monitor.tiktok.report_table import Report, ReportTable
from monitor.tiktok.reports import CsvBody, checked_csv, parse_csv_table

ADV = "7000000000000000001"
QUERY = ReportQuery(Level.CAMPAIGN, ("spend",), date(2026, 11, 24))


class Counting:
    """An unread body that counts its reads and notes the thread of each."""

    def __init__(self, text: str) -> None:
        self.body = CsvBody(text, ("campaign_id",))
        self.threads: list[int] = []

    def read(self) -> ReportTable:
        self.threads.append(threading.get_ident())
        return self.body.read()


async def test_an_unread_body_is_read_once_when_first_used_off_the_event_loop() -> None:
    body = Counting("campaign_id,spend\n1,1.5\n2,-\n")
    report = Report(unread=body)
    assert body.threads == []  # nothing read yet
    table = await report.table_off_loop()
    assert body.threads and body.threads[0] != threading.get_ident()  # read in a thread, not on the loop's
    assert table.dimensions == {"campaign_id": ["1", "2"]} and table.metrics == {"spend": [1.5, None]}
    assert (
        report.table is table
        and len(report) == 2
        and [r.metrics for r in report.rows] == [{"spend": 1.5}, {"spend": None}]
    )
    assert len(body.threads) == 1  # read once
    assert await report.table_off_loop() is table


def test_a_report_has_one_form() -> None:
    with pytest.raises(ValueError, match="one of them"):
        Report(rows=(), unread=CsvBody("", ()))
    with pytest.raises(ValueError, match="one of them"):
        Report()


async def test_an_async_report_is_downloaded_checked_and_read_later(sandbox, make_client) -> None:
    async def no_sleep(seconds: float) -> None:
        return None

    report = await make_client().async_report(ADV, QUERY, max_wait=30.0, sleep=no_sleep)
    unread = report._unread  # (what the report holds until it is read: the text, not columns)
    assert isinstance(unread, CsvBody) and unread.text.startswith("campaign_id")
    assert report.table == parse_csv_table(unread.text, ["campaign_id"]) and len(report.table) > 0
    assert report._unread is None  # the text let go once read


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ('{"code": 40002, "message": "no"}', TransientApiError, "expected CSV, got JSON: no"),
        ("stat_time_day,spend\n2026-11-24,1.5\n", BadResponseError, "CSV header has no column campaign_id"),
        ('"stat_time_day","spend"\r\n2026-11-24,1.5\r\n', BadResponseError, "CSV header has no column campaign_id"),
    ],
)
def test_the_download_is_refused_as_reading_it_would_refuse_it(text: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        checked_csv(text, ["campaign_id"])
    with pytest.raises(error, match=message):
        parse_csv_table(text, ["campaign_id"])


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffcampaign_id,spend\n1,2\n",
        '"campaign_id","spend"\r\n1,2\r\n',
        "spend,campaign_id\r\n1,2\r\n",
        "campaign_id",  # a header alone, no line end
        "",
        "  \n",
    ],
)
def test_what_the_download_accepts_reads_without_complaint(text: str) -> None:
    checked = checked_csv(text, ["campaign_id"])
    assert not checked.startswith("\ufeff")
    assert parse_csv_table(checked, ["campaign_id"]) == parse_csv_table(text, ["campaign_id"])


@pytest.mark.parametrize("row", ["1,\r2", "1," + "9" * 5000])  # a bare carriage return; too many digits for int()
def test_a_row_that_cannot_be_read_is_a_bad_response(row: str) -> None:
    body = CsvBody(f"campaign_id,spend\n{row}\n", ("campaign_id",), "7000000000000000001")
    assert checked_csv(body.text, body.dimensions) == body.text  # the download's check reads no row
    with pytest.raises(BadResponseError, match="CSV cannot be read") as refused:
        body.read()
    assert refused.value.advertiser_id == "7000000000000000001"
