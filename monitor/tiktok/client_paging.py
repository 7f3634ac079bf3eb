"""Pagination of the client's list reads: every page of a list, checked, or an error; never a partial list.

**The rule** (:meth:`PagedClient._pages`): page 1 says how many rows there are. The client reads
``ceil(total_number / page_size)`` pages (``total_number`` rather than ``total_page``, which is only a
fallback; a disagreement is logged), fetches the rest a few at a time, and stops at the first page that is not
full. A list needing more than :data:`MAX_PAGES` pages is refused after page 1, and pages that hold fewer rows
than ``total_number`` promised make the read fail too: a list that cannot be complete must not reach the diff,
where the missing entities would look deleted. Only the sync report's own cap (20,000 ads, flagged by the
``X-Tt-Ads-Throttle`` header) is a known shortfall: :attr:`Pages.truncated` says so.

:class:`PagedClient` is the base of the client's mixins (:class:`~monitor.tiktok.client.TikTokClient`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from monitor.tiktok.shape import Fields, answer_data
from monitor.tiktok.transport import ApiResponse, Transport

__all__ = ["MAX_PAGES", "MAX_PAGE_SIZE", "PAGE_CONCURRENCY", "TRUNCATION_HEADER", "PagedClient", "Pages", "batches"]

log = logging.getLogger("monitor.tiktok.client")  # the client's logger, as before the client was split
_T = TypeVar("_T")

MAX_PAGE_SIZE = 1000
#: The most pages one list read may take: 1,000,000 rows at page_size 1000 (50,000 at bc/*'s 50). What the API
#: allows: the sync report covers at most 20,000 ads (20 pages per window at the daemon's id-only dimensions); an
#: ad account holds at most 5,000 campaigns (5 pages), 999 ad groups per campaign and 50 ads per ad group
#: (TikTok's "ad account limits", 2025), so ad groups and ads have no practical API bound and the cap is about
#: cost: at the Basic tier's 10 QPS, shared by the whole app, 1,000 pages take 100 s of every request the app may
#: make, past what one poll should spend. A count past the cap is refused after page 1: it costs one request.
MAX_PAGES = 1000
PAGE_CONCURRENCY = 4  # pages after the first are fetched a few at a time; the limiter keeps the QPS
TRUNCATION_HEADER = "X-Tt-Ads-Throttle"


@dataclass(frozen=True)
class Pages:
    """The checked rows of every page read (or what ``convert`` made of them), the request ids of the answers
    they came in, and whether TikTok flagged the (sync report's) rows as capped at 20,000 ads."""

    rows: list[Any]  # Fields, or what ``convert`` made of each page's rows
    request_ids: list[str]
    truncated: bool = False


class PagedClient:
    """What every part of the client shares: the ``transport`` (session, token, limiter, retries) and the paged
    read, at most ``max_pages`` pages."""

    transport: Transport
    max_pages: int

    async def _pages(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        page_size: int,
        max_page_size: int = MAX_PAGE_SIZE,
        advertiser_id: str | None = None,
        stop_if_truncated: bool = False,
        convert: Callable[[list[Any], Fields], Awaitable[list[Any]]] | None = None,
    ) -> Pages:
        """Every row of a paginated list, checked: page 1, then the pages its count asks for, a few at a time
        (see the module docstring for the rule). Raises BadResponseError when the list cannot be read whole.
        ``stop_if_truncated``: when page 1 says TikTok capped the rows, only page 1 is read. ``convert``: each
        page's rows are converted as the page arrives and its answer is let go (a 100,000-ad list never holds
        every page's JSON at once; page 1's stays, for the count and its errors); it is given the page's
        ``data.list`` as decoded (its rows not checked: ``convert`` checks them, e.g. with ``data.rows()``) and
        the page's ``data``; the rows counted are the page's, before conversion."""
        page_size = max(1, min(page_size, max_page_size))
        flagged: list[bool] = []  # per page: TikTok flagged its rows as capped

        async def page(number: int) -> tuple[str, int, list[Any]]:
            response = await self.transport.request(
                "GET", path, params={**params, "page": number, "page_size": page_size}, advertiser_id=advertiser_id
            )
            data = answer_data(response, path, advertiser_id, page=number)
            flagged.append(_truncated(response))
            if convert is None:
                rows = data.rows()
                return response.request_id or "", len(rows), rows
            items = data.items()
            return response.request_id or "", len(items), await convert(items, data)

        first_response = await self.transport.request(
            "GET", path, params={**params, "page": 1, "page_size": page_size}, advertiser_id=advertiser_id
        )
        data = answer_data(first_response, path, advertiser_id, page=1)
        first_rows: list[Any] = data.rows() if convert is None else data.items()
        request_ids = [first_response.request_id or ""]
        rows = first_rows if convert is None else await convert(first_rows, data)
        if stop_if_truncated and _truncated(first_response):
            return Pages(rows, [r for r in request_ids if r], truncated=True)
        flagged.append(_truncated(first_response))
        total, expected, size = self._page_count(data, len(first_rows), page_size)
        count, number, last = len(first_rows), 1, len(first_rows)
        del first_response, first_rows
        # Read on while the last page was full: up to the count; past total_page (when it is all page_info
        # says) or without any count, one page at a time up to the cap.
        while last >= size and not (total is not None and expected is not None and number >= expected):
            if number >= self.max_pages:
                log.warning(
                    "%s (advertiser %s): page %d (the cap) was still full: the list is refused",
                    path,
                    advertiser_id or "-",
                    number,
                )
                raise data.error(
                    "list",
                    f"was still full on page {number} and page_info gives no total_number: more than "
                    f"{self.max_pages} pages of {size} cannot be read, so the list would be incomplete",
                )
            counted_to = expected if expected is not None and number < expected else None
            width = PAGE_CONCURRENCY if counted_to is not None else 1
            numbers = range(number + 1, min(number + width, counted_to or self.max_pages) + 1)
            for request_id, held, page_rows in await _all_of([page(n) for n in numbers]):
                number += 1
                request_ids.append(request_id)
                rows.extend(page_rows)
                count += held
                last = held
                if last < size:  # the end of the list: a later page of this batch can only be empty
                    break
        truncated = any(flagged)
        if total is not None and count < total and not truncated:
            raise data.error(
                "page_info.total_number",
                f"is {total} but {number} page(s) of {size} held {count} rows: the list is incomplete "
                "(TikTok's answer contradicts itself, or entities changed while it was read)",
            )
        return Pages(rows, [r for r in request_ids if r], truncated)

    def _page_count(self, data: Fields, first_rows: int, page_size: int) -> tuple[int | None, int | None, int]:
        """(total_number, pages to read, rows per page) from page 1's ``page_info``; a count is None when it
        does not say. The rows per page are those asked for, or fewer if TikTok says it used fewer."""
        info = data.opt_object("page_info")
        if info is None:
            return None, None, page_size
        total, total_page = info.count("total_number"), info.count("total_page")
        used = info.count("page_size")
        page_size = used if used is not None and 1 <= used < page_size else page_size
        if total is None:
            expected = total_page
        else:
            if first_rows > total:
                raise info.error("total_number", f"is {total}, but page 1 alone holds {first_rows} rows")
            expected = math.ceil(total / page_size)
        where = f"{data.where.endpoint} (advertiser {data.where.advertiser_id or '-'})"
        if expected is not None and expected > self.max_pages:
            field = "total_number" if total is not None else "total_page"
            count = total if total is not None else total_page
            log.warning(
                "%s: %s %s needs %d pages, more than the cap of %d", where, field, count, expected, self.max_pages
            )
            raise info.error(
                field,
                f"is {count}: {expected} pages of {page_size}, more than the {self.max_pages} a list may take; "
                "the list would be incomplete",
            )
        disagree = total is not None and total_page is not None and total_page != expected
        if disagree and not (total == 0 and total_page is not None and total_page <= 1):  # 0 or 1 page: both fine
            log.warning(
                "%s: page_info.total_page %s disagrees with total_number %s at page_size %d: reading %s page(s)",
                where,
                total_page,
                total,
                page_size,
                expected,
            )
        return total, expected, page_size


async def _all_of(reads: list[Coroutine[Any, Any, _T]]) -> list[_T]:
    """Run ``reads`` concurrently, results in order; when one fails the others are cancelled (no request of a
    refused list is left running) and its error is raised."""
    tasks = [asyncio.ensure_future(read) for read in reads]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


def _truncated(response: ApiResponse) -> bool:
    """Whether TikTok flagged the answer's rows as capped (the sync report's 20,000 ads)."""
    return TRUNCATION_HEADER.lower() in {h.lower() for h in response.headers}


def batches(items: Sequence[str], size: int) -> list[list[str]]:
    """``items`` without duplicates, in order, cut into lists of at most ``size`` (one call each)."""
    items = list(dict.fromkeys(items))
    return [items[i : i + size] for i in range(0, len(items), size)]
