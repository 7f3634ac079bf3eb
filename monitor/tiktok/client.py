"""TikTokClient: typed async methods over the Business API v1.3, one per thing the daemon needs.

Reads fetch every page at ``page_size`` 1000 and only the fields asked for; writes are batched at the
API's 20 ids per call. All calls share one aiohttp session and one app-wide :class:`RateLimiter` through
:class:`Transport`. Errors are the typed ones of ``monitor.tiktok.errors``.

Every answer a read uses is checked at this edge (:mod:`monitor.tiktok.shape`): a wrong shape is a
:class:`~monitor.tiktok.errors.BadResponseError` naming the endpoint and the field, never an empty list.

**Pagination** (:meth:`TikTokClient._pages`): page 1 says how many rows there are. The client reads
``ceil(total_number / page_size)`` pages (``total_number`` rather than ``total_page``, which is only a
fallback; a disagreement is logged), fetches the rest a few at a time, and stops at the first page that is not
full. A list needing more than :data:`MAX_PAGES` pages is refused after page 1, and pages that hold fewer rows
than ``total_number`` promised make the read fail too: a list that cannot be complete must not reach the diff,
where the missing entities would look deleted. Only the sync report's own cap (20,000 ads, flagged by the
``X-Tt-Ads-Throttle`` header) is a known shortfall: :attr:`Report.truncated` says so.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import SecretStr

from monitor.domain import Level
from monitor.tiktok.changelog import ChangeRecord, read_change_log
from monitor.tiktok.cooperative import cooperative
from monitor.tiktok.errors import ApiError, AuthError, PermanentApiError, TransientApiError
from monitor.tiktok.models import (
    DEFAULT_FIELDS,
    AdvertiserInfo,
    AdvertiserRef,
    BcAdvertiser,
    BusinessCenter,
    Entity,
    Report,
    ReportQuery,
    ReportRow,
    TokenGrant,
    WriteFailure,
    WriteResult,
)
from monitor.tiktok.reports import run_report_task
from monitor.tiktok.shape import Fields, answer_data
from monitor.tiktok.transport import ApiResponse, Transport

log = logging.getLogger(__name__)
_T = TypeVar("_T")

MAX_PAGE_SIZE = 1000
BC_PAGE_SIZE = 50  # bc/get and bc/asset/get take at most 50 per page
#: The most pages one list read may take: 1,000,000 rows at page_size 1000 (50,000 at bc/*'s 50). What the API
#: allows: the sync report covers at most 20,000 ads (20 pages per window at the daemon's id-only dimensions); an
#: ad account holds at most 5,000 campaigns (5 pages), 999 ad groups per campaign and 50 ads per ad group
#: (TikTok's "ad account limits", 2025), so ad groups and ads have no practical API bound and the cap is about
#: cost: at the Basic tier's 10 QPS, shared by the whole app, 1,000 pages take 100 s of every request the app may
#: make, past what one poll should spend. A count past the cap is refused after page 1: it costs one request.
MAX_PAGES = 1000
WRITE_BATCH = 20  # status and budget endpoints take 1-20 ids per call
INFO_BATCH = 100  # advertiser/info: Airbyte batches 100 ids; the official maximum is unconfirmed
PAGE_CONCURRENCY = 4  # pages after the first are fetched a few at a time; the limiter keeps the QPS
TRUNCATION_HEADER = "X-Tt-Ads-Throttle"
SMART_PLUS_PREFIX = "smart_plus/"  # Upgraded Smart+ objects' own endpoints (tiktok-api.md §12)
SMART_PLUS_AD_PAGE_SIZE = 100  # smart_plus/ad/get takes at most 100 per page
#: The sync report covers at most this many ads (the newest); TikTok flags a capped one with TRUNCATION_HEADER.
SYNC_REPORT_ADS = 20_000

#: Sends one batch of a write; returns (ids changed, per-item failures, request_id).
BatchSender = Callable[[list[str]], Awaitable[tuple[list[str], list[WriteFailure], str | None]]]


class TikTokClient:
    """The Business API for one access token. ``transport`` carries session, token, limiter and retries;
    ``app_id``/``secret`` are needed only for oauth2/advertiser/get."""

    def __init__(
        self,
        transport: Transport,
        *,
        app_id: str | None = None,
        secret: str | None = None,
        max_pages: int = MAX_PAGES,
        sync_report_ads: int = SYNC_REPORT_ADS,
    ) -> None:
        self.transport = transport
        self._app_id = app_id
        self._secret = secret
        self.max_pages = max_pages
        #: The most ads an ad-level sync report covers (TikTok's cap): past it, reports go to a task at once.
        self.sync_report_ads = sync_report_ads

    @property
    def app_id(self) -> str | None:
        """The app's id (``[tiktok] app_id``; None: not configured): the Change Log names it for the app's writes."""
        return self._app_id

    # -- accounts -------------------------------------------------------------------------------------------

    async def advertisers(self) -> list[AdvertiserRef]:
        """Every advertiser the token reaches (oauth2/advertiser/get; not paginated)."""
        if not (self._app_id and self._secret):
            raise PermanentApiError(
                "app_id and secret are needed to list advertisers (set tiktok.app_id and tiktok.secret)",
                endpoint="oauth2/advertiser/get/",
            )
        path = "oauth2/advertiser/get/"
        response = await self.transport.request("GET", path, params={"app_id": self._app_id, "secret": self._secret})
        return [
            AdvertiserRef(id=row.id("advertiser_id"), name=row.text("advertiser_name") or "")
            for row in answer_data(response, path).rows()
        ]

    async def exchange_auth_code(self, auth_code: str, *, return_advertiser_ids: bool = True) -> TokenGrant:
        """oauth2/access_token/: trade an advertiser's auth code (single use, valid 1 h) for a long-term token.
        Sent with app credentials and no Access-Token header. A used or expired code is PermanentApiError
        code 40110, wrong app credentials 40101. Neither the code nor the token appears in any error text."""
        app_id, secret = self._app_credentials("oauth2/access_token/")
        body: dict[str, Any] = {"app_id": app_id, "secret": secret, "auth_code": auth_code}
        if not return_advertiser_ids:
            body["return_advertiser_ids"] = False
        try:
            response = await self.transport.request("POST", "oauth2/access_token/", body=body, authenticated=False)
        except ApiError as exc:
            raise _scrubbed(exc, auth_code) from None
        token = response.data.get("access_token")
        if not isinstance(token, str) or not token:
            raise PermanentApiError(
                "the answer carried no access_token", endpoint="oauth2/access_token/", request_id=response.request_id
            )
        ids = response.data.get("advertiser_ids")
        scope = response.data.get("scope")
        return TokenGrant(
            access_token=SecretStr(token),
            advertiser_ids=tuple(str(i) for i in ids) if isinstance(ids, list) else (),
            scope=tuple(n for n in (_int(v) for v in scope) if n is not None) if isinstance(scope, list) else (),
        )

    async def business_centers(self) -> list[BusinessCenter]:
        """Every Business Center the token's user belongs to (bc/get, all pages at 50)."""
        centers: list[BusinessCenter] = []
        for row in (await self._pages("bc/get/", {}, page_size=BC_PAGE_SIZE, max_page_size=BC_PAGE_SIZE)).rows:
            info = row.object("bc_info")
            centers.append(
                BusinessCenter(
                    id=info.id("bc_id"),
                    name=info.text("name") or "",
                    user_role=row.text("user_role") or None,
                    type=info.text("type") or None,
                    status=info.text("status") or None,
                    timezone=info.text("timezone") or None,
                    currency=info.text("currency") or None,
                )
            )
        return centers

    async def bc_advertisers(self, bc_id: str, *, page_size: int = BC_PAGE_SIZE) -> list[BcAdvertiser]:
        """The ad accounts of Business Center ``bc_id`` with the user's role on each (bc/asset/get,
        asset_type ADVERTISER, every page)."""
        params = {"bc_id": bc_id, "asset_type": "ADVERTISER"}
        pages = await self._pages("bc/asset/get/", params, page_size=page_size, max_page_size=BC_PAGE_SIZE)
        return [
            BcAdvertiser(
                id=row.id("asset_id"),
                name=row.text("asset_name") or "",
                role=row.text("advertiser_role") or None,
                bc_id=bc_id,
                status=row.text("advertiser_status") or None,
            )
            for row in pages.rows
        ]

    async def advertiser_info(self, advertiser_ids: Sequence[str]) -> list[AdvertiserInfo]:
        """Name, status, currency and time zone of each advertiser, 100 ids per call."""
        infos: list[AdvertiserInfo] = []
        path = "advertiser/info/"
        for batch in _batches(advertiser_ids, INFO_BATCH):
            response = await self.transport.request("GET", path, params={"advertiser_ids": batch})
            for row in answer_data(response, path, batch[0] if len(batch) == 1 else None).rows():
                infos.append(
                    AdvertiserInfo(
                        id=row.id("advertiser_id"),
                        name=row.text("name") or row.text("advertiser_name") or "",
                        status=row.text("status") or None,
                        currency=row.text("currency") or None,
                        timezone=row.text("display_timezone") or row.text("timezone") or None,
                        role=row.text("role") or None,
                        balance=row.number("balance"),
                        raw=dict(row.raw),
                    )
                )
        return infos

    # -- campaigns, ad groups, ads ------------------------------------------------------------------------------

    async def entities(
        self,
        level: Level,
        advertiser_id: str,
        *,
        fields: Iterable[str] | None = None,
        filtering: Mapping[str, Any] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[Entity]:
        """All campaigns, ad groups or ads of an advertiser (every page), with ``fields`` plus the id,
        name and parent ids that an :class:`Entity` needs. Deleted ones are excluded, as the API does."""
        if level is Level.ADVERTISER:
            raise ValueError("advertisers are read with advertiser_info()")
        smart = ("campaign_automation_type",) if level is Level.CAMPAIGN else ()  # which are Upgraded Smart+
        wanted = list(
            dict.fromkeys(
                [level.id_field, level.name_field, *level.parents, *(fields or DEFAULT_FIELDS[level]), *smart]
            )
        )
        params: dict[str, Any] = {"advertiser_id": advertiser_id, "fields": wanted}
        if filtering:
            params["filtering"] = dict(filtering)
        pages = await self._pages(f"{level.value}/get/", params, advertiser_id=advertiser_id, page_size=page_size)
        seen: dict[str, Entity] = {}  # an entity created between two page reads can shift pages: dedupe
        async for row in cooperative(pages.rows):
            entity = Entity.from_api(level, advertiser_id, row)
            seen[entity.id] = entity
        return list(seen.values())

    async def campaigns(self, advertiser_id: str, **kwargs: Any) -> list[Entity]:
        return await self.entities(Level.CAMPAIGN, advertiser_id, **kwargs)

    async def adgroups(self, advertiser_id: str, **kwargs: Any) -> list[Entity]:
        return await self.entities(Level.ADGROUP, advertiser_id, **kwargs)

    async def ads(self, advertiser_id: str, **kwargs: Any) -> list[Entity]:
        return await self.entities(Level.AD, advertiser_id, **kwargs)

    async def smart_plus_campaign_ids(self, advertiser_id: str) -> frozenset[str]:
        """The ids of the advertiser's Upgraded Smart+ campaigns (smart_plus/campaign/get, every page)."""
        params = {"advertiser_id": advertiser_id, "fields": ["campaign_id"]}
        pages = await self._pages(
            "smart_plus/campaign/get/", params, advertiser_id=advertiser_id, page_size=MAX_PAGE_SIZE
        )
        return frozenset(row.id("campaign_id") for row in pages.rows)

    async def smart_plus_ads(self, advertiser_id: str) -> list[Entity]:
        """Every Upgraded Smart+ ad (smart_plus/ad/get, 100 per page): ids ``smart_plus_ad_id``, their real names.
        ad/get lists the same ads as creatives (creative ids, file names as names): see :mod:`monitor.fetch`."""
        params = {"advertiser_id": advertiser_id}
        pages = await self._pages(
            "smart_plus/ad/get/",
            params,
            advertiser_id=advertiser_id,
            page_size=SMART_PLUS_AD_PAGE_SIZE,
            max_page_size=SMART_PLUS_AD_PAGE_SIZE,
        )
        seen = {e.id: e for e in (Entity.from_smart_plus_ad(advertiser_id, row) for row in pages.rows)}
        return list(seen.values())

    async def change_log(
        self, advertiser_id: str, start: datetime, end: datetime, **options: Any
    ) -> list[ChangeRecord]:
        """Who changed what between ``start`` and ``end`` (changelog/task/*; see
        :func:`monitor.tiktok.changelog.read_change_log` for ``options``)."""
        return await read_change_log(self.transport, advertiser_id, start, end, **options)

    # -- reports -------------------------------------------------------------------------------------------

    async def report(self, advertiser_id: str, query: ReportQuery, *, page_size: int = MAX_PAGE_SIZE) -> Report:
        """report/integrated/get (BASIC), every page. Missing values ("-") come back as None. ``truncated``
        says TikTok capped the rows at 20,000 ads: then only page 1 was read (the rest could not complete the
        report either; use :meth:`async_report` for such accounts, :attr:`sync_report_ads`)."""
        params = query.params(advertiser_id)
        pages = await self._pages(
            "report/integrated/get/", params, advertiser_id=advertiser_id, page_size=page_size, stop_if_truncated=True
        )
        return Report(
            rows=tuple([_report_row(row, query.dimensions) async for row in cooperative(pages.rows)]),
            truncated=pages.truncated,
            request_ids=tuple(r.request_id for r in pages.responses if r.request_id),
        )

    async def async_report(self, advertiser_id: str, query: ReportQuery, **options: Any) -> Report:
        """The same report through report/task/* (no 20,000-ad cap, minutes of latency); see
        :func:`monitor.tiktok.reports.run_report_task` for ``options``."""
        return await run_report_task(self.transport, advertiser_id, query, **options)

    # -- writes -------------------------------------------------------------------------------------------

    async def update_status(
        self, level: Level, advertiser_id: str, ids: Sequence[str], operation_status: str, *, smart_plus: bool = False
    ) -> WriteResult:
        """Set ENABLE / DISABLE on campaigns, ad groups or ads, 20 ids per call. A batch that fails for
        good is reported in ``failures`` and the other batches still run; auth errors stop everything.
        ``smart_plus``: Upgraded Smart+ objects, through smart_plus/<level>/status/update/ (ads by
        ``smart_plus_ad_ids``; its ``error_list`` names the ids that failed)."""
        if level is Level.ADVERTISER:
            raise ValueError("advertisers have no status endpoint")
        path = f"{SMART_PLUS_PREFIX if smart_plus else ''}{level.value}/status/update/"
        ids_key = "smart_plus_ad_ids" if smart_plus and level is Level.AD else level.ids_key
        id_fields = ("smart_plus_ad_id", "ad_id") if smart_plus and level is Level.AD else (level.id_field,)

        async def send(batch: list[str]) -> tuple[list[str], list[WriteFailure], str | None]:
            body: dict[str, Any] = {
                "advertiser_id": advertiser_id,
                ids_key: batch,
                "operation_status": operation_status,
            }
            if level is Level.ADGROUP and not smart_plus:
                body["allow_partial_success"] = True
            response = await self.transport.request("POST", path, body=body, advertiser_id=advertiser_id)
            failed = _error_list(response.data, id_fields, response.request_id)
            failed_ids = {i for f in failed for i in f.ids}
            return [i for i in batch if i not in failed_ids], failed, response.request_id

        return await self._batched_write(ids, send)

    async def update_campaign_budget(
        self, advertiser_id: str, campaign_id: str, budget: float, *, smart_plus: bool = False
    ) -> WriteResult:
        """campaign/update with a new ``budget`` (takes effect at once); smart_plus/campaign/update for an
        Upgraded Smart+ campaign (``smart_plus``)."""
        path = f"{SMART_PLUS_PREFIX if smart_plus else ''}campaign/update/"

        async def send(batch: list[str]) -> tuple[list[str], list[WriteFailure], str | None]:
            body = {"advertiser_id": advertiser_id, "campaign_id": batch[0], "budget": budget}
            response = await self.transport.request("POST", path, body=body, advertiser_id=advertiser_id)
            return batch, [], response.request_id

        return await self._batched_write([campaign_id], send)

    async def update_adgroup_budgets(
        self, advertiser_id: str, budgets: Mapping[str, float], *, scheduled: bool, smart_plus: bool = False
    ) -> WriteResult:
        """adgroup/budget/update, 20 per call. ``scheduled=False`` sends ``budget`` (lifetime budgets, at
        once); ``scheduled=True`` sends ``scheduled_budget`` (daily budgets, from the next local midnight).
        ``smart_plus``: Upgraded Smart+ ad groups, through smart_plus/adgroup/budget/update/ (same body)."""
        key = "scheduled_budget" if scheduled else "budget"
        path = f"{SMART_PLUS_PREFIX if smart_plus else ''}adgroup/budget/update/"

        async def send(batch: list[str]) -> tuple[list[str], list[WriteFailure], str | None]:
            body = {"advertiser_id": advertiser_id, key: [{"adgroup_id": i, key: budgets[i]} for i in batch]}
            response = await self.transport.request("POST", path, body=body, advertiser_id=advertiser_id)
            failed = _error_list(response.data, ("adgroup_id",), response.request_id)
            failed_ids = {i for f in failed for i in f.ids}
            return [i for i in batch if i not in failed_ids], failed, response.request_id

        return await self._batched_write(list(budgets), send)

    # -- helpers -------------------------------------------------------------------------------------------

    def _app_credentials(self, endpoint: str) -> tuple[str, str]:
        if not (self._app_id and self._secret):
            raise PermanentApiError(
                "app_id and secret are needed here (set tiktok.app_id and tiktok.secret)", endpoint=endpoint
            )
        return self._app_id, self._secret

    async def _batched_write(self, ids: Sequence[str], send: BatchSender) -> WriteResult:
        succeeded: list[str] = []
        failures: list[WriteFailure] = []
        request_ids: list[str] = []
        for batch in _batches(ids, WRITE_BATCH):
            try:
                ok, failed, request_id = await send(batch)
            except AuthError:
                raise
            except ApiError as exc:
                failures.append(
                    WriteFailure(
                        tuple(batch),
                        exc.message,
                        exc.code,
                        exc.request_id,
                        transient=isinstance(exc, TransientApiError),
                    )
                )
                if exc.request_id:
                    request_ids.append(exc.request_id)
                continue
            succeeded.extend(ok)
            failures.extend(failed)
            if request_id:
                request_ids.append(request_id)
        return WriteResult(tuple(succeeded), tuple(failures), tuple(request_ids))

    async def _pages(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        page_size: int,
        max_page_size: int = MAX_PAGE_SIZE,
        advertiser_id: str | None = None,
        stop_if_truncated: bool = False,
    ) -> Pages:
        """Every row of a paginated list, checked: page 1, then the pages its count asks for, a few at a time
        (see the module docstring for the rule). Raises BadResponseError when the list cannot be read whole.
        ``stop_if_truncated``: when page 1 says TikTok capped the rows, only page 1 is read."""
        page_size = max(1, min(page_size, max_page_size))

        async def page(number: int) -> tuple[ApiResponse, list[Fields]]:
            response = await self.transport.request(
                "GET", path, params={**params, "page": number, "page_size": page_size}, advertiser_id=advertiser_id
            )
            return response, answer_data(response, path, advertiser_id, page=number).rows()

        first, rows = await page(1)
        data = answer_data(first, path, advertiser_id, page=1)
        if stop_if_truncated and _truncated(first):
            return Pages(rows, [first], truncated=True)
        total, expected, size = self._page_count(data, len(rows), page_size)
        responses, number, last = [first], 1, len(rows)
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
            for response, page_rows in await _all_of([page(n) for n in numbers]):
                number += 1
                responses.append(response)
                rows.extend(page_rows)
                last = len(page_rows)
                if last < size:  # the end of the list: a later page of this batch can only be empty
                    break
        truncated = any(_truncated(r) for r in responses)
        if total is not None and len(rows) < total and not truncated:
            raise data.error(
                "page_info.total_number",
                f"is {total} but {number} page(s) of {size} held {len(rows)} rows: the list is incomplete "
                "(TikTok's answer contradicts itself, or entities changed while it was read)",
            )
        return Pages(rows, responses, truncated)

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


@dataclass(frozen=True)
class Pages:
    """The checked rows of every page read, the answers they came in, and whether TikTok flagged the (sync
    report's) rows as capped at 20,000 ads."""

    rows: list[Fields]
    responses: list[ApiResponse]
    truncated: bool = False


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


def _report_row(row: Fields, dimensions: Sequence[str]) -> ReportRow:
    """One report row: ``dimensions`` (each asked-for one present) and ``metrics``, both objects."""
    values = row.strings("dimensions")
    for name in dimensions:
        if name not in values:
            raise row.error(f"dimensions.{name}", "is missing")
    return ReportRow(dimensions=values, metrics=row.metrics("metrics"))


def _error_list(data: Mapping[str, Any], id_fields: Sequence[str], request_id: str | None) -> list[WriteFailure]:
    """The per-id failures of a write's ``error_list``, the id read from the first of ``id_fields`` present."""
    errors = data.get("error_list") or []
    out = []
    for e in errors:
        if not isinstance(e, dict):
            continue
        entity_id = next((e[f] for f in id_fields if e.get(f) is not None), None)
        if entity_id is not None:
            out.append(WriteFailure((str(entity_id),), str(e.get("error_message") or "failed"), None, request_id))
    return out


def _batches(items: Sequence[str], size: int) -> list[list[str]]:
    items = list(dict.fromkeys(items))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _int(value: object) -> int | None:
    if not isinstance(value, str | int | float):  # what a JSON number can come as
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _scrubbed(exc: ApiError, secret: str) -> ApiError:
    """``exc`` with ``secret`` (an auth code the API may quote back) masked in its message."""
    if secret and secret in exc.message:
        exc.message = exc.message.replace(secret, "***")
        exc.args = (str(exc.args[0]).replace(secret, "***"),)
    return exc
