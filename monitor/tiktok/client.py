"""TikTokClient: typed async methods over the Business API v1.3, one per thing the daemon needs.

Reads fetch every page at ``page_size`` 1000 and only the fields asked for; writes are batched at the
API's 20 ids per call. All calls share one aiohttp session and one app-wide :class:`RateLimiter` through
:class:`Transport`. Errors are the typed ones of ``monitor.tiktok.errors``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from monitor.domain import Level
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
    parse_metric,
    parse_number,
)
from monitor.tiktok.reports import run_report_task
from monitor.tiktok.transport import Transport

MAX_PAGE_SIZE = 1000
BC_PAGE_SIZE = 50  # bc/get and bc/asset/get take at most 50 per page
WRITE_BATCH = 20  # status and budget endpoints take 1-20 ids per call
INFO_BATCH = 100  # advertiser/info: Airbyte batches 100 ids; the official maximum is unconfirmed
PAGE_CONCURRENCY = 4  # pages after the first are fetched a few at a time; the limiter keeps the QPS
TRUNCATION_HEADER = "X-Tt-Ads-Throttle"

#: Sends one batch of a write; returns (ids changed, per-item failures, request_id).
BatchSender = Callable[[list[str]], Awaitable[tuple[list[str], list[WriteFailure], str | None]]]


class TikTokClient:
    """The Business API for one access token. ``transport`` carries session, token, limiter and retries;
    ``app_id``/``secret`` are needed only for oauth2/advertiser/get."""

    def __init__(self, transport: Transport, *, app_id: str | None = None, secret: str | None = None) -> None:
        self.transport = transport
        self._app_id = app_id
        self._secret = secret

    # -- accounts -------------------------------------------------------------------------------------------

    async def advertisers(self) -> list[AdvertiserRef]:
        """Every advertiser the token reaches (oauth2/advertiser/get; not paginated)."""
        if not (self._app_id and self._secret):
            raise PermanentApiError(
                "app_id and secret are needed to list advertisers (set tiktok.app_id and tiktok.secret)",
                endpoint="oauth2/advertiser/get/",
            )
        response = await self.transport.request(
            "GET", "oauth2/advertiser/get/", params={"app_id": self._app_id, "secret": self._secret}
        )
        return [
            AdvertiserRef(id=str(row["advertiser_id"]), name=str(row.get("advertiser_name") or ""))
            for row in _rows(response.data)
            if row.get("advertiser_id") is not None
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
        for row in await self._bc_pages("bc/get/", {}):
            info = row.get("bc_info")
            if isinstance(info, dict) and info.get("bc_id") is not None:
                centers.append(
                    BusinessCenter(
                        id=str(info["bc_id"]),
                        name=str(info.get("name") or ""),
                        user_role=_opt(row.get("user_role")),
                        type=_opt(info.get("type")),
                        status=_opt(info.get("status")),
                        timezone=_opt(info.get("timezone")),
                        currency=_opt(info.get("currency")),
                    )
                )
        return centers

    async def bc_advertisers(self, bc_id: str, *, page_size: int = BC_PAGE_SIZE) -> list[BcAdvertiser]:
        """The ad accounts of Business Center ``bc_id`` with the user's role on each (bc/asset/get,
        asset_type ADVERTISER, every page)."""
        params = {"bc_id": bc_id, "asset_type": "ADVERTISER"}
        return [
            BcAdvertiser(
                id=str(row["asset_id"]),
                name=str(row.get("asset_name") or ""),
                role=_opt(row.get("advertiser_role")),
                bc_id=bc_id,
                status=_opt(row.get("advertiser_status")),
            )
            for row in await self._bc_pages("bc/asset/get/", params, page_size)
            if row.get("asset_id") is not None
        ]

    async def advertiser_info(self, advertiser_ids: Sequence[str]) -> list[AdvertiserInfo]:
        """Name, status, currency and time zone of each advertiser, 100 ids per call."""
        infos: list[AdvertiserInfo] = []
        for batch in _batches(advertiser_ids, INFO_BATCH):
            response = await self.transport.request("GET", "advertiser/info/", params={"advertiser_ids": batch})
            for row in _rows(response.data):
                infos.append(
                    AdvertiserInfo(
                        id=str(row["advertiser_id"]),
                        name=str(row.get("name") or row.get("advertiser_name") or ""),
                        status=_opt(row.get("status")),
                        currency=_opt(row.get("currency")),
                        timezone=_opt(row.get("display_timezone") or row.get("timezone")),
                        role=_opt(row.get("role")),
                        balance=parse_number(row.get("balance")),
                        raw=dict(row),
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
        wanted = list(
            dict.fromkeys([level.id_field, level.name_field, *level.parents, *(fields or DEFAULT_FIELDS[level])])
        )
        params: dict[str, Any] = {"advertiser_id": advertiser_id, "fields": wanted}
        if filtering:
            params["filtering"] = dict(filtering)
        rows, _ = await self._all_pages(f"{level.value}/get/", params, advertiser_id, page_size)
        seen: dict[str, Entity] = {}  # an entity created between two page reads can shift pages: dedupe
        for row in rows:
            if row.get(level.id_field) is not None:
                entity = Entity.from_api(level, advertiser_id, row)
                seen[entity.id] = entity
        return list(seen.values())

    async def campaigns(self, advertiser_id: str, **kwargs: Any) -> list[Entity]:
        return await self.entities(Level.CAMPAIGN, advertiser_id, **kwargs)

    async def adgroups(self, advertiser_id: str, **kwargs: Any) -> list[Entity]:
        return await self.entities(Level.ADGROUP, advertiser_id, **kwargs)

    async def ads(self, advertiser_id: str, **kwargs: Any) -> list[Entity]:
        return await self.entities(Level.AD, advertiser_id, **kwargs)

    # -- reports -------------------------------------------------------------------------------------------

    async def report(self, advertiser_id: str, query: ReportQuery, *, page_size: int = MAX_PAGE_SIZE) -> Report:
        """report/integrated/get (BASIC), every page. Missing values ("-") come back as None; ``truncated``
        says TikTok capped the rows at 20,000 ads (use :meth:`async_report` for such accounts)."""
        params = query.params(advertiser_id)
        rows, responses = await self._all_pages("report/integrated/get/", params, advertiser_id, page_size)
        return Report(
            rows=tuple(
                ReportRow(
                    dimensions={k: str(v) for k, v in (row.get("dimensions") or {}).items()},
                    metrics={k: parse_metric(k, v) for k, v in (row.get("metrics") or {}).items()},
                )
                for row in rows
            ),
            truncated=any(TRUNCATION_HEADER.lower() in {h.lower() for h in r.headers} for r in responses),
            request_ids=tuple(r.request_id for r in responses if r.request_id),
        )

    async def async_report(self, advertiser_id: str, query: ReportQuery, **options: Any) -> Report:
        """The same report through report/task/* (no 20,000-ad cap, minutes of latency); see
        :func:`monitor.tiktok.reports.run_report_task` for ``options``."""
        return await run_report_task(self.transport, advertiser_id, query, **options)

    # -- writes -------------------------------------------------------------------------------------------

    async def update_status(
        self, level: Level, advertiser_id: str, ids: Sequence[str], operation_status: str
    ) -> WriteResult:
        """Set ENABLE / DISABLE on campaigns, ad groups or ads, 20 ids per call. A batch that fails for
        good is reported in ``failures`` and the other batches still run; auth errors stop everything."""
        if level is Level.ADVERTISER:
            raise ValueError("advertisers have no status endpoint")
        path = f"{level.value}/status/update/"

        async def send(batch: list[str]) -> tuple[list[str], list[WriteFailure], str | None]:
            body: dict[str, Any] = {
                "advertiser_id": advertiser_id,
                level.ids_key: batch,
                "operation_status": operation_status,
            }
            if level is Level.ADGROUP:
                body["allow_partial_success"] = True
            response = await self.transport.request("POST", path, body=body, advertiser_id=advertiser_id)
            failed = _error_list(response.data, level.id_field, response.request_id)
            failed_ids = {i for f in failed for i in f.ids}
            return [i for i in batch if i not in failed_ids], failed, response.request_id

        return await self._batched_write(ids, send)

    async def update_campaign_budget(self, advertiser_id: str, campaign_id: str, budget: float) -> WriteResult:
        """campaign/update with a new ``budget`` (takes effect at once)."""

        async def send(batch: list[str]) -> tuple[list[str], list[WriteFailure], str | None]:
            body = {"advertiser_id": advertiser_id, "campaign_id": batch[0], "budget": budget}
            response = await self.transport.request("POST", "campaign/update/", body=body, advertiser_id=advertiser_id)
            return batch, [], response.request_id

        return await self._batched_write([campaign_id], send)

    async def update_adgroup_budgets(
        self, advertiser_id: str, budgets: Mapping[str, float], *, scheduled: bool
    ) -> WriteResult:
        """adgroup/budget/update, 20 per call. ``scheduled=False`` sends ``budget`` (lifetime budgets, at
        once); ``scheduled=True`` sends ``scheduled_budget`` (daily budgets, from the next local midnight)."""
        key = "scheduled_budget" if scheduled else "budget"

        async def send(batch: list[str]) -> tuple[list[str], list[WriteFailure], str | None]:
            body = {"advertiser_id": advertiser_id, key: [{"adgroup_id": i, key: budgets[i]} for i in batch]}
            response = await self.transport.request(
                "POST", "adgroup/budget/update/", body=body, advertiser_id=advertiser_id
            )
            failed = _error_list(response.data, "adgroup_id", response.request_id)
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

    async def _bc_pages(
        self, path: str, params: Mapping[str, Any], page_size: int = BC_PAGE_SIZE
    ) -> list[dict[str, Any]]:
        """Every row of a Business Center listing, page by page (such lists are short: no concurrency)."""
        page_size = max(1, min(page_size, BC_PAGE_SIZE))
        rows: list[dict[str, Any]] = []
        number = 1
        while True:
            response = await self.transport.request(
                "GET", path, params={**params, "page": number, "page_size": page_size}
            )
            batch = _rows(response.data)
            rows.extend(batch)
            total_pages = _int((response.data.get("page_info") or {}).get("total_page"))
            done = number >= total_pages if total_pages is not None else len(batch) < page_size
            if done or not batch:
                return rows
            number += 1

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

    async def _all_pages(
        self, path: str, params: Mapping[str, Any], advertiser_id: str, page_size: int
    ) -> tuple[list[dict[str, Any]], list[Any]]:
        """Page 1, then the remaining pages a few at a time, in page order."""
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))

        async def page(number: int) -> Any:
            return await self.transport.request(
                "GET",
                path,
                params={**params, "page": number, "page_size": page_size},
                advertiser_id=advertiser_id,
            )

        first = await page(1)
        responses = [first]
        info = first.data.get("page_info") or {}
        total_pages = _int(info.get("total_page"))
        if total_pages is None:  # no page_info: keep asking while pages come back full
            rows = list(_rows(first.data))
            number = 1
            while len(_rows(responses[-1].data)) >= page_size:
                number += 1
                responses.append(await page(number))
                rows.extend(_rows(responses[-1].data))
            return rows, responses
        gate = asyncio.Semaphore(PAGE_CONCURRENCY)

        async def gated(number: int) -> Any:
            async with gate:
                return await page(number)

        responses += await asyncio.gather(*(gated(n) for n in range(2, total_pages + 1)))
        return [row for r in responses for row in _rows(r.data)], responses


def _rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = data.get("list")
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _error_list(data: Mapping[str, Any], id_field: str, request_id: str | None) -> list[WriteFailure]:
    errors = data.get("error_list") or []
    return [
        WriteFailure((str(e.get(id_field)),), str(e.get("error_message") or "failed"), None, request_id)
        for e in errors
        if isinstance(e, dict) and e.get(id_field) is not None
    ]


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


def _opt(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _scrubbed(exc: ApiError, secret: str) -> ApiError:
    """``exc`` with ``secret`` (an auth code the API may quote back) masked in its message."""
    if secret and secret in exc.message:
        exc.message = exc.message.replace(secret, "***")
        exc.args = (str(exc.args[0]).replace(secret, "***"),)
    return exc
