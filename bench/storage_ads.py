"""bench/storage.py's advertiser: its ads and how they move on from poll to poll (see bench/storage.py)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from monitor.domain import EntityState, Level

ADV = "7000000000000000001"


def window(rng: random.Random, spend: float) -> dict[str, float | int | None]:
    impressions = int(spend * 1000 / rng.uniform(4, 12))
    clicks = impressions // rng.randint(60, 140)
    conversions = clicks // 25
    return {
        "spend": round(spend, 2),
        "impressions": impressions,
        "clicks": clicks,
        "ctr": round(100 * clicks / impressions, 2) if impressions else None,
        "cpc": round(spend / clicks, 2) if clicks else None,
        "cpm": round(1000 * spend / impressions, 2) if impressions else None,
        "reach": int(impressions / 1.12),
        "conversion": conversions,
        "cost_per_conversion": round(spend / conversions, 2) if conversions else None,
        "result": conversions,
    }


class Ads:
    """The advertiser's ads and how they move on."""

    def __init__(self, count: int, change: float, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.change = change
        self.spend = [0.0] * count
        self.day = 0  # yesterday's and last_7d's values are fixed for a day
        self.ads = [
            EntityState(
                level=Level.AD,
                id=str(1_790_000_000_000_000_000 + i),
                advertiser_id=ADV,
                name=f"Summer sale / video {i % 97} / {i}",
                operation_status="ENABLE",
                secondary_status="AD_STATUS_DELIVERY_OK",
                campaign_id=str(1_780_000_000_000_000_000 + i // 1000),
                adgroup_id=str(1_785_000_000_000_000_000 + i // 100),
                metrics=self._metrics(i, 0.0),
            )
            for i in range(count)
        ]

    def _metrics(self, i: int, today: float) -> dict[str, Any]:
        day = random.Random(i * 7919 + self.day * 104729)
        return {
            "today": window(self.rng, today),
            "yesterday": window(day, 50 + 400 * day.random()),
            "last_7d": window(day, 300 + 2800 * day.random()),
        }

    def step(self, share: float) -> None:
        """A poll later: ``share`` of the ads spent more today; one in a thousand per hour changes status."""
        for i in range(len(self.ads)):
            if self.rng.random() < share:
                self.spend[i] += self.rng.uniform(0.05, 2.0)
                self.ads[i] = replace(self.ads[i], metrics=self._metrics(i, self.spend[i]))

    def new_day(self) -> None:
        """Midnight: today starts over, yesterday and last_7d move on (for every ad)."""
        self.spend = [self.rng.uniform(0, 1) for _ in self.ads]
        self.day += 1
        for i, ad in enumerate(self.ads):
            self.ads[i] = replace(ad, metrics=self._metrics(i, 0.0))

    def statuses(self, share: float) -> None:
        for i, ad in enumerate(self.ads):
            if self.rng.random() < share:
                status = "DISABLE" if ad.operation_status == "ENABLE" else "ENABLE"
                self.ads[i] = replace(ad, operation_status=status)
