"""The client's account reads: the advertisers a token reaches, Business Centers and their ad accounts,
advertiser info, and trading an auth code for a token (a mixin of :class:`~monitor.tiktok.client.TikTokClient`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from monitor.tiktok.client_paging import PagedClient, batches
from monitor.tiktok.errors import ApiError, PermanentApiError
from monitor.tiktok.models import AdvertiserInfo, AdvertiserRef, BcAdvertiser, BusinessCenter, TokenGrant
from monitor.tiktok.shape import answer_data

__all__ = ["BC_PAGE_SIZE", "INFO_BATCH", "AccountReads"]

BC_PAGE_SIZE = 50  # bc/get and bc/asset/get take at most 50 per page
INFO_BATCH = 100  # advertiser/info: Airbyte batches 100 ids; the official maximum is unconfirmed


class AccountReads(PagedClient):
    """oauth2/*, bc/* and advertiser/info; ``_app_id``/``_secret`` are needed only for the oauth2 ones."""

    _app_id: str | None
    _secret: str | None

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
        for batch in batches(advertiser_ids, INFO_BATCH):
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

    def _app_credentials(self, endpoint: str) -> tuple[str, str]:
        if not (self._app_id and self._secret):
            raise PermanentApiError(
                "app_id and secret are needed here (set tiktok.app_id and tiktok.secret)", endpoint=endpoint
            )
        return self._app_id, self._secret


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
