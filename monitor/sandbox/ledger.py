"""Spend accrual of one campaign: a day-by-day replay in F-space (see curve.py).

Within a local day, the time between two *events* (a status change, a budget change, a creation, a rejection)
is a segment in which the set of delivering ads is fixed. In F-space each delivering ad group then consumes
money at a constant rate β (the sum of its active ads' rates), so budget caps are simple water-filling:

* an ad group stops when its own cap is reached (daily cap: spend of the local day; lifetime cap: all spend);
* the campaign stops all its ad groups at once when the sum of their spend reaches the campaign cap.

Stopping every child at the same instant gives each child exactly its proportional share of the cap, and keeps
every ad's cumulative spend non-decreasing in time. What each ad group actually delivered is stored as an
:class:`IntervalSet` of F-positions ("runs"); an ad's spend over any window is ``rate × |runs ∩ own active
spans ∩ window|``. Complete days are computed once and kept; the current day is replayed up to ``now`` on
demand (cached per ``now``). A write at time ``w`` only invalidates what lies after ``w``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import pairwise

from monitor.sandbox.entities import DAY, ENABLE, INFINITE, TOTAL, Ad, AdGroup, Campaign
from monitor.sandbox.intervals import IntervalSet

#: Money below this is "nothing left" (float noise of the F-space arithmetic is far smaller).
EPS = 1e-6
INF = math.inf
_NO_RATE = 1e-15  # money per F-second below which a campaign is not spending at all


@dataclass(slots=True)
class CampaignState:
    """The campaign's accrual as of ``now`` (epoch seconds). Read-only for callers."""

    now: float
    runs: dict[str, IntervalSet]
    day_spend: dict[str, float]  # per ad group, current local day
    life_spend: dict[str, float]  # per ad group, since creation
    campaign_day_spend: float
    campaign_life_spend: float
    campaign_exceeded: bool = False
    exceeded_adgroups: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Totals:
    life_g: dict[str, float]
    life_c: float = 0.0


def ad_active_at(ad: Ad, t: float) -> bool:
    return ad.status_at(t) == ENABLE and not ad.rejected_at(t)


class CampaignLedger:
    """Replays one campaign's delivery. Call :meth:`invalidate` after any write that touches it."""

    __slots__ = ("_cache", "_closed_until", "_runs", "_totals", "campaign")

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self._reset()

    def _reset(self) -> None:
        c = self.campaign
        self._closed_until = c.advertiser.calendar.day_of(c.create_time)[0]
        self._runs = {g.adgroup_id: IntervalSet() for g in c.adgroups}
        self._totals = _Totals(life_g=dict.fromkeys(self._runs, 0.0))
        self._cache: CampaignState | None = None

    def invalidate(self, t: float) -> None:
        """Something changed from ``t`` on."""
        if t < self._closed_until:
            self._reset()
        self._cache = None

    def state(self, now: float) -> CampaignState:
        if self._cache is not None and self._cache.now == now:
            return self._cache
        if now < self._closed_until:  # the clock went backwards: replay from scratch
            self._reset()
        cal = self.campaign.advertiser.calendar
        while True:
            d0, d1 = cal.day_of(self._closed_until)
            if d1 > now:
                break
            self._simulate(d0, d1, self._runs, self._totals)
            self._closed_until = d1
        runs = {gid: s.copy() for gid, s in self._runs.items()}
        totals = _Totals(life_g=dict(self._totals.life_g), life_c=self._totals.life_c)
        day_g, day_c = self._simulate(d0, now, runs, totals)
        state = CampaignState(now, runs, day_g, totals.life_g, day_c, totals.life_c)
        self._mark_exceeded(state)
        self._cache = state
        return state

    def _mark_exceeded(self, s: CampaignState) -> None:
        c = self.campaign
        s.campaign_exceeded = (
            _remaining(c.budget_mode, c.budgets.at(s.now), s.campaign_day_spend, s.campaign_life_spend) <= EPS
        )
        for g in c.adgroups:
            gid = g.adgroup_id
            if _remaining(g.budget_mode, g.budgets.at(s.now), s.day_spend[gid], s.life_spend[gid]) <= EPS:
                s.exceeded_adgroups.add(gid)

    def _simulate(
        self, d0: float, end: float, runs: dict[str, IntervalSet], totals: _Totals
    ) -> tuple[dict[str, float], float]:
        """Replay [d0, end) of the local day starting at d0; returns (day spend per ad group, campaign's)."""
        c = self.campaign
        ev = c.events
        cuts = [d0, *ev[bisect_right(ev, d0) : bisect_left(ev, end)], end]
        day_g = dict.fromkeys(runs, 0.0)
        day_c = 0.0
        for a, b in pairwise(cuts):
            if b > a and c.statuses.at(a) == ENABLE:
                day_c += self._segment(a, b, runs, day_g, day_c, totals)
        return day_g, day_c

    def _segment(
        self,
        a: float,
        b: float,
        runs: dict[str, IntervalSet],
        day_g: dict[str, float],
        day_c: float,
        totals: _Totals,
    ) -> float:
        c = self.campaign
        F = c.advertiser.curve.F
        fa, fb = F(a), F(b)
        live: list[tuple[float, float, AdGroup]] = []  # (F where the group's own cap binds, β, group)
        for g in c.adgroups:
            if g.statuses.at(a) != ENABLE:
                continue
            beta = g.plain_rate if a >= g.plain_since else 0.0
            for ad in g.special:
                if ad_active_at(ad, a):
                    beta += ad.rate
            gid = g.adgroup_id
            rem = _remaining(g.budget_mode, g.budgets.at(a), day_g[gid], totals.life_g[gid])
            if rem <= EPS:
                x = fa
            elif beta <= 0.0 or rem == INF:
                x = INF
            else:
                x = fa + rem / beta
            live.append((x, beta, g))
        rem_c = _remaining(c.budget_mode, c.budgets.at(a), day_c, totals.life_c)
        x_c = _campaign_stop(fa, rem_c, live)
        spent = 0.0
        for x, beta, g in live:
            stop = min(fb, x, x_c)
            if stop > fa:
                gid = g.adgroup_id
                runs[gid].append(fa, stop)
                money = beta * (stop - fa)
                day_g[gid] += money
                totals.life_g[gid] += money
                spent += money
        totals.life_c += spent
        return spent


def _remaining(mode: str, budget: float | None, day_spend: float, life_spend: float) -> float:
    if mode == DAY:
        return (budget or 0.0) - day_spend
    if mode == TOTAL:
        return (budget or 0.0) - life_spend
    assert mode == INFINITE
    return INF


def _campaign_stop(fa: float, rem_c: float, live: list[tuple[float, float, AdGroup]]) -> float:
    """F-position at which the ad groups' combined spend from ``fa`` reaches ``rem_c``."""
    if rem_c == INF:
        return INF
    if rem_c <= EPS:
        return fa
    rate = sum(beta for _, beta, _ in live)
    pos, left = fa, rem_c
    for x, beta, _ in sorted(live, key=lambda item: item[0]):
        if rate <= _NO_RATE:
            return INF
        if x > pos:
            if rate * (x - pos) >= left:
                return pos + left / rate
            left -= rate * (x - pos)
            pos = x
        rate -= beta
    return pos + left / rate if rate > _NO_RATE else INF
