"""The Subscription API's REPORT_DATA_CHANGE webhooks (tiktok-api.md §9.1): the subscriptions the app made, and
the :class:`Notifier` that calls their ``callback_url`` while the sandbox serves.

Every tick the notifier reads each subscribed advertiser's spend, impressions and clicks of the current **UTC**
day; when they differ from what its last notice said (or, before the first notice, from their values when the
subscription was made) and
the subscription's window has passed since that notice, it POSTs one notice::

    {"object": 11, "subscription_id": "...", "time": 1765000000,
     "entry": [{"time": 1765000000, "changed_metrics_values":
                {"7000000000000000001": {"date": "2026-12-06", "spend": "12.34", "impressions": "1234",
                                         "clicks": "12", "video_play_actions": "0"}}}]}

The window is the subscription's ``notify_frequency`` (5, 15, 30 or 60 minutes), or
``SandboxSettings.webhook_window`` seconds when set (tests and benchmarks). An answer other than HTTP 200 (or no
answer) is retried ``webhook_retries`` times, ``webhook_backoff`` seconds later, doubling each time, with the same
body (at-least-once, as TikTok). Windows are measured in real monotonic time, values in world time: with a
frozen world clock only injected spend (:mod:`monitor.sandbox.surges`) changes them. Each attempt is logged in
:attr:`Subscriptions.deliveries` (``GET /sandbox/webhooks``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp

from monitor.sandbox.entities import Advertiser
from monitor.sandbox.spend import ad_cumulative

if TYPE_CHECKING:
    from monitor.sandbox.state import SandboxState

log = logging.getLogger("monitor.sandbox")

REPORT_DATA_CHANGE = "REPORT_DATA_CHANGE"
REPORT_OBJECT = 11
FREQUENCIES = {"5_MINUTE": 300.0, "15_MINUTE": 900.0, "30_MINUTE": 1800.0, "60_MINUTE": 3600.0}
DEFAULT_FREQUENCY = "5_MINUTE"
DELIVERY_TIMEOUT = 5.0


@dataclass(slots=True)
class Subscription:
    subscription_id: str
    callback_url: str
    advertiser_ids: tuple[str, ...]
    notify_frequency: str
    access_token: str = field(repr=False)  # what subscription_detail carried: never answered back

    def as_json(self) -> dict[str, Any]:
        """As subscription/get/ lists it (without the token)."""
        return {
            "subscription_id": self.subscription_id,
            "subscribe_entity": REPORT_DATA_CHANGE,
            "callback_url": self.callback_url,
            "subscription_detail": {
                "advertiser_ids": list(self.advertiser_ids),
                "notify_frequency": self.notify_frequency,
            },
        }


@dataclass(slots=True)
class Delivery:
    """One POST of a notice: when (monotonic), to which subscription, for which advertisers, which attempt
    (1-based), and the HTTP status (None: no answer, ``error`` says why)."""

    t: float
    subscription_id: str
    advertiser_ids: list[str]
    attempt: int
    status: int | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Subscriptions:
    """The app's subscriptions, the notices' bookkeeping and the delivery log."""

    def __init__(self) -> None:
        self.items: dict[str, Subscription] = {}
        self.deliveries: list[Delivery] = []
        #: (subscription, advertiser) -> (monotonic time of the last notice or -inf, the values it said)
        self.last: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
        self._seq = 0

    def add(self, callback_url: str, advertiser_ids: tuple[str, ...], frequency: str, token: str) -> Subscription:
        self._seq += 1
        sub = Subscription(f"{1_800_000_000_000_000 + self._seq}", callback_url, advertiser_ids, frequency, token)
        self.items[sub.subscription_id] = sub
        return sub

    def remove(self, subscription_id: str) -> bool:
        self.last = {k: v for k, v in self.last.items() if k[0] != subscription_id}
        return self.items.pop(subscription_id, None) is not None


def utc_day_values(sandbox: SandboxState, adv: Advertiser, now: float) -> dict[str, str]:
    """The advertiser's spend, impressions and clicks of the UTC day of ``now``, as a notice states them."""
    world = sandbox.world
    t0 = math.floor(now / 86_400) * 86_400
    F = adv.curve.F
    spend, impressions, clicks = 0.0, 0, 0
    for ad in adv.ad_index.values():
        lo, hi = ad_cumulative(world.state(ad.adgroup.campaign, now), ad, [F(t0), F(now)])
        lo += world.surges.before(ad.ad_id, t0)
        hi += world.surges.before(ad.ad_id, math.nextafter(now, math.inf))
        spend += hi - lo
        impressions += math.floor(hi * ad.imp_per_money) - math.floor(lo * ad.imp_per_money)
        clicks += math.floor(hi * ad.imp_per_money * ad.ctr) - math.floor(lo * ad.imp_per_money * ad.ctr)
    return {
        "date": datetime.fromtimestamp(t0, UTC).date().isoformat(),
        "spend": f"{spend:.2f}",
        "impressions": str(impressions),
        "clicks": str(clicks),
        "video_play_actions": "0",
    }


class Notifier:
    """Sends the notices of :class:`Subscriptions` while the sandbox serves (:meth:`run`, cancelled at the end)."""

    def __init__(self, sandbox: SandboxState) -> None:
        self.sandbox = sandbox
        self._sending: set[asyncio.Task[None]] = set()

    def window(self, sub: Subscription) -> float:
        override = self.sandbox.settings.webhook_window
        return override if override is not None else FREQUENCIES[sub.notify_frequency]

    async def run(self) -> None:
        async with aiohttp.ClientSession() as session:
            try:
                while True:
                    subs = list(self.sandbox.subscriptions.items.values())
                    tick = min([0.5, *(self.window(s) / 5 for s in subs)])
                    await asyncio.sleep(tick)
                    if subs:
                        await self.tick(session)
            finally:
                for task in self._sending:
                    task.cancel()
                await asyncio.gather(*self._sending, return_exceptions=True)

    async def tick(self, session: aiohttp.ClientSession) -> None:
        """One look at every subscribed advertiser; a notice for each subscription with changed ones."""
        book = self.sandbox.subscriptions
        now = self.sandbox.now()
        readings = await self.sandbox.offload(lambda: self._read(now))
        mono = time.monotonic()
        for sub in list(book.items.values()):
            changed: dict[str, dict[str, str]] = {}
            for advertiser_id in sub.advertiser_ids:
                values = readings.get(advertiser_id)
                if values is None:
                    continue
                key = (sub.subscription_id, advertiser_id)
                last = book.last.get(key)
                if last is None:
                    book.last[key] = (-math.inf, values)
                elif values != last[1] and mono - last[0] >= self.window(sub):
                    changed[advertiser_id] = values
                    book.last[key] = (mono, values)
            if changed:
                body = {"object": REPORT_OBJECT, "subscription_id": sub.subscription_id, "time": int(now)}
                body["entry"] = [{"time": int(now), "changed_metrics_values": changed}]
                task = asyncio.get_running_loop().create_task(self._deliver(session, sub, body))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)

    def _read(self, now: float) -> dict[str, dict[str, str]]:
        wanted = {a for s in self.sandbox.subscriptions.items.values() for a in s.advertiser_ids}
        world = self.sandbox.world
        return {a: utc_day_values(self.sandbox, adv, now) for a in wanted if (adv := world.advertiser(a)) is not None}

    async def _deliver(self, session: aiohttp.ClientSession, sub: Subscription, body: dict[str, Any]) -> None:
        settings = self.sandbox.settings
        data = json.dumps(body)
        ids = sorted(body["entry"][0]["changed_metrics_values"])
        for attempt in range(1, settings.webhook_retries + 2):
            status, error = None, None
            try:
                async with session.post(
                    sub.callback_url,
                    data=data,
                    headers={"Content-Type": "application/json", "webhook-schema-version": "1"},
                    timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT),
                ) as response:
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = type(exc).__name__
            self.sandbox.subscriptions.deliveries.append(
                Delivery(time.monotonic(), sub.subscription_id, ids, attempt, status, error)
            )
            if status == 200:
                return
            log.info("webhook to subscription %s: %s (attempt %d)", sub.subscription_id, status or error, attempt)
            if attempt <= settings.webhook_retries:
                await asyncio.sleep(settings.webhook_backoff * 2 ** (attempt - 1))
