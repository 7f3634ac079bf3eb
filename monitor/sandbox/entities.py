"""The objects of the simulated world: advertisers, campaigns, ad groups and ads.

Times are UTC epoch seconds. What can change over time (operation status, budgets) is kept as a
:class:`Timeline` of changes, so the ledger can replay exactly when delivery stopped and restarted. Compact
``__slots__`` classes keep a 100 000-ad world small.

Invariant kept by the builder: all ads of one ad group share one ``create_time`` (bulk creation), so the ad
group's "plain" ads (never individually paused, never rejected) can be accounted for together.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from typing import Generic, TypeVar

from monitor.sandbox.curve import AMPLITUDE, DiurnalCurve
from monitor.sandbox.localtime import AccountCalendar

T = TypeVar("T")

ENABLE = "ENABLE"
DISABLE = "DISABLE"
DELETE = "DELETE"

DAY = "BUDGET_MODE_DAY"
TOTAL = "BUDGET_MODE_TOTAL"
INFINITE = "BUDGET_MODE_INFINITE"


class Timeline(Generic[T]):
    """A value that changes at points in time. Before the first change the value is ``None``."""

    __slots__ = ("times", "values")

    def __init__(self, t: float, value: T) -> None:
        self.times: list[float] = [t]
        self.values: list[T] = [value]

    def at(self, t: float) -> T | None:
        i = bisect_right(self.times, t) - 1
        return self.values[i] if i >= 0 else None

    def set(self, t: float, value: T) -> None:
        """Record a change at ``t``; later scheduled changes are dropped (the new write supersedes them)."""
        while self.times and self.times[-1] > t:
            self.times.pop()
            self.values.pop()
        if self.times and self.times[-1] == t:
            self.values[-1] = value
        else:
            self.times.append(t)
            self.values.append(value)

    def changes_after(self, t: float) -> list[float]:
        return self.times[bisect_right(self.times, t) :]


class Advertiser:
    __slots__ = (
        "ad_index",
        "adgroup_index",
        "advertiser_id",
        "balance",
        "calendar",
        "campaign_index",
        "campaigns",
        "company",
        "country",
        "create_time",
        "currency",
        "curve",
        "industry",
        "name",
        "status",
        "timezone",
        "zone_name",
    )

    def __init__(
        self,
        advertiser_id: str,
        name: str,
        zone_name: str,
        timezone: str,
        utc_offset_hours: float,
        currency: str,
        country: str,
        company: str,
        industry: str,
        create_time: float,
        balance: float,
        amplitude: float = AMPLITUDE,
    ) -> None:
        self.advertiser_id = advertiser_id
        self.name = name
        self.zone_name = zone_name
        self.timezone = timezone
        self.currency = currency
        self.country = country
        self.company = company
        self.industry = industry
        self.create_time = create_time
        self.balance = balance
        self.status = "STATUS_ENABLE"  # advertiser/info status; Sandbox.set_advertiser_status changes it
        self.calendar = AccountCalendar(zone_name)
        self.curve = DiurnalCurve(utc_offset_hours, amplitude)
        self.campaigns: list[Campaign] = []
        self.campaign_index: dict[str, Campaign] = {}
        self.adgroup_index: dict[str, AdGroup] = {}
        self.ad_index: dict[str, Ad] = {}


class Campaign:
    __slots__ = (
        "adgroups",
        "advertiser",
        "automation_type",
        "budget_mode",
        "budgets",
        "campaign_id",
        "create_time",
        "events",
        "modify_time",
        "name",
        "objective_type",
        "statuses",
    )

    def __init__(
        self,
        advertiser: Advertiser,
        campaign_id: str,
        name: str,
        objective_type: str,
        budget_mode: str,
        budget: float,
        status: str,
        create_time: float,
    ) -> None:
        self.advertiser = advertiser
        self.campaign_id = campaign_id
        self.name = name
        self.objective_type = objective_type
        self.budget_mode = budget_mode
        self.budgets: Timeline[float] = Timeline(create_time, budget)
        self.statuses: Timeline[str] = Timeline(create_time, status)
        self.create_time = create_time
        self.modify_time = create_time
        self.adgroups: list[AdGroup] = []
        #: campaign_automation_type: MANUAL, or UPGRADED_SMART_PLUS (see :mod:`monitor.sandbox.smartplus`).
        self.automation_type = "MANUAL"
        #: Sorted times at which anything that affects this campaign's delivery changes.
        self.events: list[float] = [create_time]

    def add_event(self, t: float) -> None:
        insort(self.events, t)


class AdGroup:
    __slots__ = (
        "adgroup_id",
        "ads",
        "bid_price",
        "billing_event",
        "budget_mode",
        "budgets",
        "campaign",
        "create_time",
        "modify_time",
        "name",
        "optimization_goal",
        "plain_rate",
        "plain_since",
        "schedule_end",
        "special",
        "statuses",
    )

    def __init__(
        self,
        campaign: Campaign,
        adgroup_id: str,
        name: str,
        budget_mode: str,
        budget: float,
        status: str,
        create_time: float,
        optimization_goal: str,
        billing_event: str,
        schedule_end: float | None,
    ) -> None:
        self.campaign = campaign
        self.adgroup_id = adgroup_id
        self.name = name
        self.budget_mode = budget_mode
        self.budgets: Timeline[float] = Timeline(create_time, budget)
        self.statuses: Timeline[str] = Timeline(create_time, status)
        self.create_time = create_time
        self.modify_time = create_time
        self.optimization_goal = optimization_goal
        self.billing_event = billing_event
        self.bid_price = 0.0
        self.schedule_end = schedule_end
        self.ads: list[Ad] = []
        #: Sum of the per-second rates of the ads that have no history of their own, and their create time.
        self.plain_rate = 0.0
        self.plain_since = float("inf")
        #: Ads with their own status history or a rejection; accounted for one by one.
        self.special: list[Ad] = []

    def add_ad(self, ad: Ad) -> None:
        self.ads.append(ad)
        if ad.is_special:
            self.special.append(ad)
            return
        if self.plain_rate and ad.create_time != self.plain_since:
            raise ValueError("all ads of an ad group must share one create_time")
        self.plain_rate += ad.rate
        self.plain_since = ad.create_time

    def make_special(self, ad: Ad) -> None:
        """Move ``ad`` out of the plain pool before it gets a history of its own."""
        if ad in self.special:
            return
        self.plain_rate = max(0.0, self.plain_rate - ad.rate)
        self.special.append(ad)


class Ad:
    __slots__ = (
        "ad_id",
        "ad_text",
        "adgroup",
        "aov",
        "create_time",
        "ctr",
        "cvr",
        "denied_at",
        "imp_per_money",
        "modify_time",
        "name",
        "rate",
        "statuses",
    )

    def __init__(
        self,
        adgroup: AdGroup,
        ad_id: str,
        name: str,
        ad_text: str,
        create_time: float,
        rate_per_hour: float,
        cpm: float,
        ctr: float,
        cvr: float,
        aov: float,
        status: str = ENABLE,
        denied_at: float | None = None,
    ) -> None:
        self.adgroup = adgroup
        self.ad_id = ad_id
        self.name = name
        self.ad_text = ad_text
        self.create_time = create_time
        self.modify_time = create_time
        #: Average spend per second (the diurnal curve modulates it).
        self.rate = rate_per_hour / 3600.0
        self.imp_per_money = 1000.0 / cpm
        self.ctr = ctr
        self.cvr = cvr
        self.aov = aov
        self.statuses: Timeline[str] | None = None if status == ENABLE else Timeline(create_time, status)
        self.denied_at = denied_at

    @property
    def is_special(self) -> bool:
        return self.statuses is not None or self.denied_at is not None

    def status_at(self, t: float) -> str | None:
        if t < self.create_time:
            return None
        return ENABLE if self.statuses is None else self.statuses.at(t)

    def rejected_at(self, t: float) -> bool:
        return self.denied_at is not None and t >= self.denied_at

    def active_spans(self) -> list[tuple[float, float]]:
        """Epoch intervals in which the ad itself may deliver (ENABLE, created, not rejected)."""
        end_all = self.denied_at if self.denied_at is not None else float("inf")
        if self.statuses is None:
            spans = [(self.create_time, float("inf"))]
        else:
            spans = []
            times, values = self.statuses.times, self.statuses.values
            for i, (t, v) in enumerate(zip(times, values, strict=True)):
                if v == ENABLE:
                    spans.append((t, times[i + 1] if i + 1 < len(times) else float("inf")))
        return [(a, min(b, end_all)) for a, b in spans if a < min(b, end_all)]
