"""``run`` with ``[tiktok.subscription] enabled``: subscribe to REPORT_DATA_CHANGE for the advertisers polled here,
once they are known, reusing what the app has already subscribed for the same callback URL (subscription/get/:
a restart, or another replica, made it), so starting twice never subscribes twice. A failure is logged (never
with the app secret or a token) and tried again later; polling goes on as scheduled either way: the notices only
make polls come sooner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from monitor.config_tiktok import SubscriptionSettings
from monitor.errors import MonitorError
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.client_subscriptions import REPORT_DATA_CHANGE

__all__ = ["RETRY_SECONDS", "keep_subscribed", "missing", "subscribe_all"]

log = logging.getLogger(__name__)

RETRY_SECONDS = 300.0
#: subscription/subscribe/ takes at most this many advertisers.
BATCH = 100


def shown(url: str) -> str:
    """The callback URL for a log line: scheme and host only (its path may be the receiver's secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/..."


def missing(wanted: Iterable[str], subscribed: Iterable[Iterable[str]]) -> list[str]:
    """The advertisers of ``wanted`` no subscription covers, in order (pure)."""
    covered = {a for ids in subscribed for a in ids}
    return [a for a in dict.fromkeys(wanted) if a not in covered]


async def subscribe_all(
    settings: SubscriptionSettings, clients: Mapping[str, TikTokClient], advertisers: Mapping[str, Sequence[str]]
) -> int:
    """Subscribe each token account's ``advertisers`` (account name -> ids) not yet subscribed for the callback
    URL; returns how many subscriptions were made."""
    url = settings.callback_url
    assert url is not None  # validated with enabled
    made = 0
    for account, ids in advertisers.items():
        if not ids:
            continue
        client = clients[account]
        existing = [
            s.advertiser_ids
            for s in await client.subscriptions()
            if s.entity == REPORT_DATA_CHANGE and s.callback_url == url
        ]
        todo = missing(ids, existing)
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            subscription_id = await client.subscribe_report_changes(url, batch, settings.notify_frequency)
            made += 1
            log.info(
                "subscribed to REPORT_DATA_CHANGE of %d advertiser(s) (subscription %s, callback %s)",
                len(batch),
                subscription_id,
                shown(url),
            )
        if not todo:
            log.info("REPORT_DATA_CHANGE: the app's subscription for %s covers the advertisers already", shown(url))
    return made


async def keep_subscribed(
    settings: SubscriptionSettings,
    clients: Mapping[str, TikTokClient],
    advertisers: Callable[[], Mapping[str, Sequence[str]]],
    stop: asyncio.Event,
    *,
    retry_seconds: float = RETRY_SECONDS,
    first_wait: float = 1.0,
) -> None:
    """Wait until advertisers are known (``advertisers()``: account name -> ids polled here), subscribe them,
    and try again every ``retry_seconds`` after a failure, until ``stop``."""
    while not stop.is_set():
        wanted = advertisers()
        if any(wanted.values()):
            try:
                await subscribe_all(settings, clients, wanted)
                return
            except MonitorError as exc:  # the client's errors (ApiError) among them
                log.warning(
                    "could not subscribe to REPORT_DATA_CHANGE (polling goes on; trying again in %.0fs): %s",
                    retry_seconds,
                    exc,
                )
                wait = retry_seconds
        else:
            wait = first_wait
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
