"""The client's reports: report/integrated/get (sync, every page) and report/task/* (a mixin of
:class:`~monitor.tiktok.client.TikTokClient`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from monitor.domain.ratios import without_undefined_ratios
from monitor.tiktok.client_paging import MAX_PAGE_SIZE, PagedClient
from monitor.tiktok.cooperative import cooperative
from monitor.tiktok.models import Report, ReportQuery, ReportRow
from monitor.tiktok.report_batch import OWNER_METRIC, Combined, ReportBatcher
from monitor.tiktok.shape import Fields

__all__ = ["SYNC_REPORT_ADS", "ReportReads"]

log = logging.getLogger("monitor.tiktok.client")  # the client's logger, as before the client was split

#: The sync report covers at most this many ads (the newest); TikTok flags a capped one (TRUNCATION_HEADER).
SYNC_REPORT_ADS = 20_000


class ReportReads(PagedClient):
    """BASIC reports of one advertiser; ``sync_report_ads`` is TikTok's cap on the sync one; ``report_batcher``
    combines concurrent polls' equal reports into calls over up to 5 advertisers (None: it does not)."""

    sync_report_ads: int
    report_batcher: ReportBatcher | None

    async def report(
        self,
        advertiser_id: str,
        query: ReportQuery,
        *,
        page_size: int = MAX_PAGE_SIZE,
        combine: bool = False,
        ads: int | None = None,
        rows: int | None = None,
    ) -> Report:
        """report/integrated/get (BASIC), every page. Missing values ("-") come back as None, and so does a ratio
        whose denominator in the row is zero (cpc without clicks: :mod:`monitor.domain.ratios`). ``truncated``
        says TikTok capped the rows at 20,000 ads: then only page 1 was read (the rest could not complete the
        report either; use :meth:`async_report` for such accounts, :attr:`sync_report_ads`).

        ``combine``: the same report of other advertisers asked for within a moment may be read in the same call
        (:mod:`monitor.tiktok.report_batch`); the result is the same as alone. ``ads``: how many ads the report
        covers (an ad-level one: the advertiser's ads, as far as known), so a combined call stays within
        :attr:`sync_report_ads` in all; ``rows``: how many rows it likely holds (the level's entities, as far as
        known), so a combined call stays within one page."""
        if combine and self.report_batcher is not None:
            return await self.report_batcher.report(
                advertiser_id,
                query,
                page_size,
                lambda: self._report_alone(advertiser_id, query, page_size),
                ads=ads,
                cap=self.sync_report_ads,
                rows=rows,
            )
        return await self._report_alone(advertiser_id, query, page_size)

    async def _report_alone(self, advertiser_id: str, query: ReportQuery, page_size: int) -> Report:
        params = query.params(advertiser_id)
        pages = await self._pages(
            "report/integrated/get/", params, advertiser_id=advertiser_id, page_size=page_size, stop_if_truncated=True
        )
        log.debug("report %s of advertiser %s: %d page(s)", _described(query), advertiser_id, len(pages.request_ids))
        return Report(
            rows=tuple([_report_row(row, query.dimensions) async for row in cooperative(pages.rows)]),
            truncated=pages.truncated,
            request_ids=tuple(pages.request_ids),
        )

    async def _report_over(self, advertiser_ids: list[str], query: ReportQuery, page_size: int) -> Combined:
        """One report over ``advertiser_ids`` (2-5), every page, each row with the ``advertiser_id`` metric that
        names its account (asked for in addition to the query's metrics). Only page 1 when TikTok flags the rows
        as capped. A row without that metric is a BadResponseError."""
        params = query.params(advertiser_ids[0])
        del params["advertiser_id"]
        params["advertiser_ids"] = advertiser_ids
        if OWNER_METRIC not in query.metrics:
            params["metrics"] = [*query.metrics, OWNER_METRIC]
        pages = await self._pages(
            "report/integrated/get/",
            params,
            advertiser_id=advertiser_ids[0],
            page_size=page_size,
            stop_if_truncated=True,
        )
        described, pages_read = _described(query), len(pages.request_ids)
        log.debug("report %s over advertisers %s: %d page(s)", described, ",".join(advertiser_ids), pages_read)
        rows = []
        async for row in cooperative(pages.rows):
            rows.append((row.object("metrics").id(OWNER_METRIC), _report_row(row, query.dimensions)))
        return Combined(rows, pages.truncated, tuple(pages.request_ids))

    async def async_report(self, advertiser_id: str, query: ReportQuery, **options: Any) -> Report:
        """The same report through report/task/* (no 20,000-ad cap, minutes of latency); see
        :func:`monitor.tiktok.reports.run_report_task` for ``options``."""
        log.debug("report task %s of advertiser %s", _described(query), advertiser_id)
        from monitor.tiktok.reports import run_report_task  # (and its CSV readers) only an account past the sync cap

        return await run_report_task(self.transport, advertiser_id, query, **options)


def _report_row(row: Fields, dimensions: Sequence[str]) -> ReportRow:
    """One report row: ``dimensions`` (each asked-for one present) and ``metrics``, both objects (a ratio over a
    zero count is None)."""
    values = row.strings("dimensions")
    for name in dimensions:
        if name not in values:
            raise row.error(f"dimensions.{name}", "is missing")
    return ReportRow(dimensions=values, metrics=without_undefined_ratios(row.metrics("metrics")))


def _described(query: ReportQuery) -> str:
    """What a report asks for, for the debug log (which reads a poll makes: issue 18's count of calls)."""
    dates = "lifetime" if query.lifetime else f"{query.start_date}..{query.end_date or query.start_date}"
    return f"{query.level.value} {dates} by {','.join(query.dimensions)} of {','.join(query.metrics)}"
