"""Typed settings of the simulated Business API; every default lives here."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.sandbox.curve import AMPLITUDE

#: The advertiser added when ``large_ads`` > 0 (benchmarks).
LARGE_ADVERTISER_ID = "7000000000000000099"


def extra_advertiser_id(index: int) -> str:
    """The id of extra advertiser ``index`` (0-based): 7000000000001000000 + index."""
    return f"700000000000100{index:04d}"


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """How the sandbox authenticates, throttles and how big its world is.

    ``qpm`` None means 60 × ``qps`` (TikTok's Basic tier is 10 QPS / 600 QPM per app). ``large_ads`` > 0 adds
    one extra advertiser (:data:`LARGE_ADVERTISER_ID`, UTC, USD) holding that many ads. ``extra_advertisers``
    adds that many small advertisers (UTC, USD, one campaign, ad group and ad each; ids from
    :func:`extra_advertiser_id`), for agency-sized configurations. ``sync_ad_limit`` is the most ads an ad-level
    sync report covers (TikTok's 20,000; lower it to test the capped report with a small world).
    ``delivery_amplitude`` is how far each account's spend rate swings over its day (monitor.sandbox.curve: 0.6,
    peaking in the evening; 0: every ad spends at its average rate all day, so how many entities change between
    two polls does not depend on the hour a benchmark runs).
    """

    token: str = "sandbox-token"  # noqa: S105 - the sandbox's own fake credential
    app_id: str = "4242424242"
    secret: str = "sandbox-secret"  # noqa: S105
    qps: int = 10
    qpm: int | None = None
    campaigns_per_advertiser: int = 3
    adgroups_per_campaign: int = 2
    ads_per_adgroup: int = 3
    large_ads: int = 0
    extra_advertisers: int = 0
    sync_ad_limit: int = 20_000
    #: The last this many campaigns of each regular advertiser are Upgraded Smart+ ones (monitor.sandbox.smartplus).
    smart_plus_campaigns: int = 0
    #: REPORT_DATA_CHANGE notices (monitor.sandbox.subscriptions): seconds between two notices of one advertiser
    #: instead of the subscription's notify_frequency (None: as subscribed; tests and benchmarks shorten it), how
    #: often an undelivered notice is retried, and the first retry's delay (doubling).
    webhook_window: float | None = None
    webhook_retries: int = 3
    webhook_backoff: float = 1.0
    delivery_amplitude: float = AMPLITUDE

    def __post_init__(self) -> None:
        if not self.token:
            raise ValueError("token must not be empty")
        if self.qps < 1 or (self.qpm is not None and self.qpm < 1):
            raise ValueError("qps and qpm must be at least 1")
        for name in ("campaigns_per_advertiser", "adgroups_per_campaign", "ads_per_adgroup"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.large_ads < 0:
            raise ValueError("large_ads must not be negative")
        if self.sync_ad_limit < 1:
            raise ValueError("sync_ad_limit must be at least 1")
        if not 0 <= self.smart_plus_campaigns <= self.campaigns_per_advertiser:
            raise ValueError("smart_plus_campaigns must be between 0 and campaigns_per_advertiser")
        if self.webhook_window is not None and not self.webhook_window > 0:
            raise ValueError("webhook_window must be positive")
        if self.webhook_retries < 0 or not self.webhook_backoff > 0:
            raise ValueError("webhook_retries must not be negative and webhook_backoff must be positive")
        if not 0 <= self.extra_advertisers <= 9999:
            raise ValueError("extra_advertisers must be between 0 and 9999")
        if not 0.0 <= self.delivery_amplitude < 1.0:
            raise ValueError("delivery_amplitude must be at least 0 and less than 1")

    @property
    def effective_qpm(self) -> int:
        return self.qpm if self.qpm is not None else 60 * self.qps
