"""TikTokClient: typed async methods over the Business API v1.3, one per thing the daemon needs.

Reads fetch every page at ``page_size`` 1000 and only the fields asked for; writes are batched at the
API's 20 ids per call. All calls share one aiohttp session and one app-wide :class:`RateLimiter` through
:class:`Transport`. Errors are the typed ones of ``monitor.tiktok.errors``.

Every answer a read uses is checked at this edge (:mod:`monitor.tiktok.shape`): a wrong shape is a
:class:`~monitor.tiktok.errors.BadResponseError` naming the endpoint and the field, never an empty list.

The methods live in one mixin per concern, this class puts them together: pagination
(:mod:`monitor.tiktok.client_paging`: a list is read whole or refused, never partial), accounts
(:mod:`~monitor.tiktok.client_accounts`), campaigns, ad groups, ads, Smart+ and the Change Log
(:mod:`~monitor.tiktok.client_entities`), reports (:mod:`~monitor.tiktok.client_reports`), writes
(:mod:`~monitor.tiktok.client_writes`) and REPORT_DATA_CHANGE subscriptions
(:mod:`~monitor.tiktok.client_subscriptions`).
"""

from __future__ import annotations

from monitor.tiktok.client_accounts import AccountReads
from monitor.tiktok.client_entities import EntityReads
from monitor.tiktok.client_paging import MAX_PAGE_SIZE, MAX_PAGES, Pages
from monitor.tiktok.client_reports import SYNC_REPORT_ADS, ReportReads
from monitor.tiktok.client_subscriptions import Subscriptions
from monitor.tiktok.client_writes import WRITE_BATCH, Writes
from monitor.tiktok.models import BcAdvertiser
from monitor.tiktok.report_batch import GATHER_SECONDS, ReportBatcher
from monitor.tiktok.transport import Transport

__all__ = ["MAX_PAGES", "MAX_PAGE_SIZE", "SYNC_REPORT_ADS", "WRITE_BATCH", "BcAdvertiser", "Pages", "TikTokClient"]


class TikTokClient(AccountReads, EntityReads, ReportReads, Writes, Subscriptions):
    """The Business API for one access token. ``transport`` carries session, token, limiter and retries;
    ``app_id``/``secret`` are needed only for oauth2/advertiser/get. ``report_gather``: how long a poll's sync
    report waits for the same report of other advertisers, to read them in one call (None: never combined;
    :mod:`monitor.tiktok.report_batch`)."""

    def __init__(
        self,
        transport: Transport,
        *,
        app_id: str | None = None,
        secret: str | None = None,
        max_pages: int = MAX_PAGES,
        sync_report_ads: int = SYNC_REPORT_ADS,
        report_gather: float | None = GATHER_SECONDS,
    ) -> None:
        self.transport = transport
        self._app_id = app_id
        self._secret = secret
        self.max_pages = max_pages
        #: The most ads an ad-level sync report covers (TikTok's cap): past it, reports go to a task at once.
        self.sync_report_ads = sync_report_ads
        self.report_batcher = None if report_gather is None else ReportBatcher(self._report_over, gather=report_gather)

    @property
    def app_id(self) -> str | None:
        """The app's id (``[tiktok] app_id``; None: not configured): the Change Log names it for the app's writes."""
        return self._app_id
