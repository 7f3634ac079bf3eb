"""The client's writes: status and budgets of campaigns, ad groups and ads (Upgraded Smart+ ones through their
own endpoints), batched at the API's 20 ids per call (a mixin of :class:`~monitor.tiktok.client.TikTokClient`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from monitor.domain import Level
from monitor.tiktok.client_paging import PagedClient, batches
from monitor.tiktok.errors import ApiError, AuthError, TransientApiError
from monitor.tiktok.models import WriteFailure, WriteResult

__all__ = ["SMART_PLUS_PREFIX", "WRITE_BATCH", "BatchSender", "Writes"]

WRITE_BATCH = 20  # status and budget endpoints take 1-20 ids per call
SMART_PLUS_PREFIX = "smart_plus/"  # Upgraded Smart+ objects' own endpoints (tiktok-api.md §12)

#: Sends one batch of a write; returns (ids changed, per-item failures, request_id).
BatchSender = Callable[[list[str]], Awaitable[tuple[list[str], list[WriteFailure], str | None]]]


class Writes(PagedClient):
    """*/status/update, campaign/update (budget), adgroup/budget/update; a batch failing for good is reported
    in the result and the others still run."""

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

    async def _batched_write(self, ids: Sequence[str], send: BatchSender) -> WriteResult:
        succeeded: list[str] = []
        failures: list[WriteFailure] = []
        request_ids: list[str] = []
        for batch in batches(ids, WRITE_BATCH):
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
