"""The client's Subscription API calls (tiktok-api.md §9.1; a mixin of :class:`~monitor.tiktok.client.TikTokClient`):
REPORT_DATA_CHANGE subscriptions, made with the app's credentials in the request and this client's token in
``subscription_detail``. Neither the secret nor the token appears in an error text (the transport redacts them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.tiktok.client_paging import PagedClient
from monitor.tiktok.errors import PermanentApiError
from monitor.tiktok.shape import answer_data

__all__ = ["REPORT_DATA_CHANGE", "SubscriptionInfo", "Subscriptions"]

REPORT_DATA_CHANGE = "REPORT_DATA_CHANGE"
SUBSCRIPTION_PAGE = 100


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """One subscription of the app, as subscription/get/ lists it."""

    subscription_id: str
    entity: str
    callback_url: str
    advertiser_ids: tuple[str, ...]
    notify_frequency: str | None


class Subscriptions(PagedClient):
    """subscription/subscribe and subscription/get; needs ``app_id`` and ``secret``. (The monitor never
    unsubscribes: a replica cannot know that no other uses the subscription.)"""

    _app_id: str | None
    _secret: str | None

    def _app(self, endpoint: str) -> dict[str, str]:
        if not (self._app_id and self._secret):
            why = "app_id and secret are needed here (set tiktok.app_id and tiktok.secret)"
            raise PermanentApiError(why, endpoint=endpoint)
        return {"app_id": self._app_id, "secret": self._secret}

    async def subscribe_report_changes(
        self, callback_url: str, advertiser_ids: Sequence[str], notify_frequency: str
    ) -> str:
        """Subscribe to REPORT_DATA_CHANGE of ``advertiser_ids`` (at most 100); returns the subscription id."""
        path = "subscription/subscribe/"
        body: dict[str, Any] = {
            **self._app(path),
            "subscribe_entity": REPORT_DATA_CHANGE,
            "callback_url": callback_url,
            "subscription_detail": {
                "access_token": self.transport.access_token,
                "advertiser_ids": list(advertiser_ids),
                "notify_frequency": notify_frequency,
            },
        }
        response = await self.transport.request("POST", path, body=body, authenticated=False)
        return answer_data(response, path).id("subscription_id")

    async def subscriptions(self) -> list[SubscriptionInfo]:
        """Every subscription of the app (subscription/get/, every page)."""
        path = "subscription/get/"
        found: list[SubscriptionInfo] = []
        page = 1
        while True:
            params = {**self._app(path), "page": page, "page_size": SUBSCRIPTION_PAGE}
            data = answer_data(await self.transport.request("GET", path, params=params, authenticated=False), path)
            for row in data.rows():
                detail = row.opt_object("subscription_detail")
                ids = detail.raw.get("advertiser_ids") if detail is not None else None
                found.append(
                    SubscriptionInfo(
                        subscription_id=row.id("subscription_id"),
                        entity=row.text("subscribe_entity") or "",
                        callback_url=row.text("callback_url") or "",
                        advertiser_ids=tuple(str(i) for i in ids) if isinstance(ids, list) else (),
                        notify_frequency=detail.text("notify_frequency") if detail is not None else None,
                    )
                )
            info = data.opt_object("page_info")
            total = info.raw.get("total_page") if info is not None else None
            if not isinstance(total, int) or page >= total or page >= self.max_pages:
                return found
            page += 1
