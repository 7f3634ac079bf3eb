"""The client's reports: report/integrated/get (sync, every page) and report/task/* (a mixin of
:class:`~monitor.tiktok.client.TikTokClient`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.domain.ratios import without_undefined_ratios
from monitor.tiktok.client_paging import MAX_PAGE_SIZE, PagedClient
from monitor.tiktok.cooperative import cooperative
from monitor.tiktok.models import Report, ReportQuery, ReportRow
from monitor.tiktok.reports import run_report_task
from monitor.tiktok.shape import Fields

__all__ = ["SYNC_REPORT_ADS", "ReportReads"]

#: The sync report covers at most this many ads (the newest); TikTok flags a capped one (TRUNCATION_HEADER).
SYNC_REPORT_ADS = 20_000


class ReportReads(PagedClient):
    """BASIC reports of one advertiser; ``sync_report_ads`` is TikTok's cap on the sync one."""

    sync_report_ads: int

    async def report(self, advertiser_id: str, query: ReportQuery, *, page_size: int = MAX_PAGE_SIZE) -> Report:
        """report/integrated/get (BASIC), every page. Missing values ("-") come back as None, and so does a ratio
        whose denominator in the row is zero (cpc without clicks: :mod:`monitor.domain.ratios`). ``truncated``
        says TikTok capped the rows at 20,000 ads: then only page 1 was read (the rest could not complete the
        report either; use :meth:`async_report` for such accounts, :attr:`sync_report_ads`)."""
        params = query.params(advertiser_id)
        pages = await self._pages(
            "report/integrated/get/", params, advertiser_id=advertiser_id, page_size=page_size, stop_if_truncated=True
        )
        return Report(
            rows=tuple([_report_row(row, query.dimensions) async for row in cooperative(pages.rows)]),
            truncated=pages.truncated,
            request_ids=tuple(pages.request_ids),
        )

    async def async_report(self, advertiser_id: str, query: ReportQuery, **options: Any) -> Report:
        """The same report through report/task/* (no 20,000-ad cap, minutes of latency); see
        :func:`monitor.tiktok.reports.run_report_task` for ``options``."""
        return await run_report_task(self.transport, advertiser_id, query, **options)


def _report_row(row: Fields, dimensions: Sequence[str]) -> ReportRow:
    """One report row: ``dimensions`` (each asked-for one present) and ``metrics``, both objects (a ratio over a
    zero count is None)."""
    values = row.strings("dimensions")
    for name in dimensions:
        if name not in values:
            raise row.error(f"dimensions.{name}", "is missing")
    return ReportRow(dimensions=values, metrics=without_undefined_ratios(row.metrics("metrics")))
