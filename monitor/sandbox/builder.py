"""Builds the deterministic world: same settings and same ``start`` give the same world, bit for bit.

Randomness comes only from ``random.Random`` instances seeded with strings naming what they decide
(``"7000000000000000001:campaign:1"``), never from the global generator.

What is in it (per regular advertiser; counts from the settings):

* campaign 0: daily budget (BUDGET_MODE_DAY). In advertiser ...001 it spends about 40 USD/h and its budget is
  today's spend up to ``start`` + :data:`EXCEED_AFTER` rounded up to whole dollars, so it runs out two to three
  minutes after ``start`` (if the local day has only just begun, at the 50 USD minimum, within about two hours)
  → CAMPAIGN_STATUS_BUDGET_EXCEED, every day at about the same local time. Elsewhere its first ad group has a
  tight daily budget (≈ 60 % of its uncapped daily spend) → ADGROUP_STATUS_BUDGET_EXCEED in the local evening.
* campaign 1: lifetime budget (BUDGET_MODE_TOTAL), ads with conversion rate 0. In ...001 it is named with
  Slack/HTML metacharacters, spends about 45/h, and its first ad is rejected (AD_STATUS_AUDIT_DENY)
  :data:`REJECT_AFTER` seconds after ``start``.
* campaign 2: BUDGET_MODE_INFINITE, operation_status DISABLE since three days after its creation.
* campaigns 3+: ENABLE, cycling DAY / INFINITE / TOTAL with generous budgets.
* in ...003 the last ad of the first ad group was switched off (DISABLE) a day after creation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import replace

from monitor.sandbox.budgets import CURRENCIES, Currency, minimum_budget
from monitor.sandbox.catalog import (
    ACCOUNTS,
    AUDIENCES,
    CAMPAIGN_NAMES,
    GOALS,
    HOOKS,
    HOSTILE_NAME,
    LARGE_ACCOUNT,
    OBJECTIVES,
    AccountSpec,
)
from monitor.sandbox.entities import (
    DAY,
    DISABLE,
    ENABLE,
    INFINITE,
    TOTAL,
    Ad,
    AdGroup,
    Advertiser,
    Campaign,
    Timeline,
)
from monitor.sandbox.settings import SandboxSettings, extra_advertiser_id

DAY_S = 86_400.0
EXCEED_AFTER = 120.0
REJECT_AFTER = 30.0  # soon enough that `demo` shows an "ad rejected" alert within a minute
SCHEDULE_DAYS = 90


class _Ids:
    """Entity ids: "18" + advertiser suffix + kind digit + a sequence, so newer entities have larger ids."""

    def __init__(self, advertiser_id: str, suffix: str | None = None) -> None:
        self._sfx = advertiser_id[-2:] if suffix is None else suffix
        self._seq = {"1": 0, "2": 0, "3": 0}

    def next(self, kind: str) -> str:
        self._seq[kind] += 1
        return f"18{self._sfx}{kind}{self._seq[kind]:014d}"


def build_advertisers(settings: SandboxSettings, start: float) -> list[Advertiser]:
    out = [_regular(spec, settings, start) for spec in ACCOUNTS]
    if settings.large_ads:
        out.append(_large(settings.large_ads, start, amplitude=settings.delivery_amplitude))
    small = replace(  # extra advertisers are not regular ones: never Smart+ (smartplus.SmartPlus.mark)
        settings, campaigns_per_advertiser=1, adgroups_per_campaign=1, ads_per_adgroup=1, smart_plus_campaigns=0
    )
    for index in range(settings.extra_advertisers):
        advertiser_id = extra_advertiser_id(index)
        spec = AccountSpec(
            advertiser_id, f"Extra Advertiser {index + 1:04d}", "UTC", "Etc/GMT", 0, "USD", "US", "Retail"
        )
        out.append(_regular(spec, small, start, ids=_Ids(advertiser_id, suffix=f"9{index:04d}")))
    return out


def _account(spec: AccountSpec, start: float, amplitude: float) -> Advertiser:
    cur = CURRENCIES[spec.currency]
    rng = random.Random(f"{spec.advertiser_id}:account")
    return Advertiser(
        spec.advertiser_id,
        spec.name,
        spec.zone,
        spec.timezone,
        spec.offset_hours,
        spec.currency,
        spec.country,
        f"{spec.name} Ltd.",
        spec.industry,
        float(int(start - 400 * DAY_S)),
        round(rng.uniform(2_000, 20_000) * cur.per_usd, cur.decimals),
        amplitude,
    )


def _regular(spec: AccountSpec, settings: SandboxSettings, start: float, ids: _Ids | None = None) -> Advertiser:
    adv = _account(spec, start, settings.delivery_amplitude)
    cur = CURRENCIES[spec.currency]
    ids = ids or _Ids(spec.advertiser_id)
    n_groups, n_ads = settings.adgroups_per_campaign, settings.ads_per_adgroup
    first = spec.advertiser_id == ACCOUNTS[0].advertiser_id
    for k in range(settings.campaigns_per_advertiser):
        rng = random.Random(f"{spec.advertiser_id}:campaign:{k}")
        created = float(int(start - max(2.0, 24.0 - 3 * k) * DAY_S + k * 600 + rng.uniform(0, 3600)))
        mode = (DAY, TOTAL, INFINITE)[k] if k < 3 else (DAY, INFINITE, TOTAL)[k % 3]
        name = CAMPAIGN_NAMES[k % len(CAMPAIGN_NAMES)] + (f" #{k // len(CAMPAIGN_NAMES) + 1}" if k >= 6 else "")
        if first and k == 1:
            name = HOSTILE_NAME
        objective = OBJECTIVES[k % len(OBJECTIVES)]
        c = Campaign(adv, ids.next("1"), name, objective, mode, 0.0, ENABLE, created)
        if k == 2 and created + 3 * DAY_S < start:
            c.statuses.set(created + 3 * DAY_S, DISABLE)
            c.modify_time = created + 3 * DAY_S
            c.add_event(created + 3 * DAY_S)
        per_ad_usd = (40.0 if k == 0 else 45.0) / (n_groups * n_ads) if first and k < 2 else None
        for j in range(n_groups):
            g_created = created + 300 + 60 * j
            g_mode = mode if mode != INFINITE else (DAY, TOTAL)[j % 2]
            goal, billing = GOALS.get(objective, ("CONVERT", "OCPM"))
            g = AdGroup(
                c,
                ids.next("2"),
                f"{name} / {AUDIENCES[j % len(AUDIENCES)]}",
                g_mode,
                0.0,
                ENABLE,
                g_created,
                goal,
                billing,
                g_created + SCHEDULE_DAYS * DAY_S if g_mode == TOTAL else None,
            )
            c.adgroups.append(g)
            c.add_event(g_created)
            for i in range(n_ads):
                r = random.Random(f"{spec.advertiser_id}:ad:{k}:{j}:{i}")
                usd_rate = per_ad_usd if per_ad_usd is not None else r.uniform(0.8, 3.2)
                ad = Ad(
                    g,
                    ids.next("3"),
                    f"{HOOKS[(j + i) % len(HOOKS)]} v{i + 1}",
                    "Shop the collection – free shipping today!",
                    g_created + 120,
                    usd_rate * cur.per_usd,
                    cpm=r.uniform(4, 12) * cur.per_usd,
                    ctr=r.uniform(0.006, 0.025),
                    cvr=0.0 if k == 1 else r.uniform(0.02, 0.08),
                    aov=r.uniform(20, 80) * cur.per_usd,
                )
                if first and k == min(1, settings.campaigns_per_advertiser - 1) and j == 0 and i == 0:
                    ad.denied_at = start + REJECT_AFTER
                    c.add_event(ad.denied_at)
                if (
                    spec.advertiser_id == ACCOUNTS[2].advertiser_id
                    and k == 0
                    and j == 0
                    and i == n_ads - 1
                    and n_ads > 1
                ):
                    ad.statuses = Timeline(ad.create_time, ENABLE)
                    ad.statuses.set(ad.create_time + DAY_S, DISABLE)
                    ad.modify_time = ad.create_time + DAY_S
                    c.add_event(ad.modify_time)
                g.add_ad(ad)
            c.add_event(g_created + 120)
        _set_budgets(c, cur, start, exceed_soon=first and k == 0, tight_group=not first and k == 0)
        _register(adv, c)
    return adv


def _daily(rate_per_s: float) -> float:
    return rate_per_s * DAY_S


def _set_budgets(c: Campaign, cur: Currency, start: float, *, exceed_soon: bool, tight_group: bool) -> None:
    """Budgets that respect the currency minima (whole units: also valid for JPY)."""
    group_rates = [sum(ad.rate for ad in g.ads) for g in c.adgroups]
    days = (start - c.create_time) / DAY_S + 60
    if c.budget_mode == DAY:
        budget = 2 * _daily(sum(group_rates))
        if exceed_soon:
            cal, curve = c.advertiser.calendar, c.advertiser.curve
            d0 = cal.day_of(start)[0]
            target = start + EXCEED_AFTER
            budget = sum(
                r * (curve.F(target) - curve.F(max(d0, g.ads[0].create_time)))
                for r, g in zip(group_rates, c.adgroups, strict=True)
            )
        c.budgets = Timeline(c.create_time, _whole(budget, minimum_budget("campaign", DAY, cur)))
    elif c.budget_mode == TOTAL:
        c.budgets = Timeline(
            c.create_time, _whole(2 * _daily(sum(group_rates)) * days, minimum_budget("campaign", TOTAL, cur))
        )
    for j, (g, rate) in enumerate(zip(c.adgroups, group_rates, strict=True)):
        low = minimum_budget("adgroup", g.budget_mode, cur, SCHEDULE_DAYS)
        if g.budget_mode == TOTAL:
            value = 1.5 * _daily(rate) * days
        elif exceed_soon:
            value = c.budgets.values[0]  # never binds before the campaign's own budget
        else:
            value = 0.6 * _daily(rate) if tight_group and j == 0 else 2 * _daily(rate)
        g.budgets = Timeline(g.create_time, _whole(value, low))


def _whole(value: float, low: float) -> float:
    return float(max(math.ceil(value), math.ceil(low)))


def _register(adv: Advertiser, c: Campaign) -> None:
    adv.campaigns.append(c)
    adv.campaign_index[c.campaign_id] = c
    for g in c.adgroups:
        adv.adgroup_index[g.adgroup_id] = g
        for ad in g.ads:
            adv.ad_index[ad.ad_id] = ad


def _chunks(total: int, size: int) -> Iterator[int]:
    while total > 0:
        yield min(size, total)
        total -= size


def _large(
    n_ads: int, start: float, ads_per_group: int = 100, groups_per_campaign: int = 50, *, amplitude: float
) -> Advertiser:
    """The benchmark account: ``n_ads`` ads, ≤100 per ad group, ≤50 ad groups per campaign, no tight budgets."""
    spec = LARGE_ACCOUNT
    adv = _account(spec, start, amplitude)
    cur = CURRENCIES[spec.currency]
    ids = _Ids(spec.advertiser_id)
    sizes = list(_chunks(n_ads, ads_per_group))
    n_campaigns = math.ceil(len(sizes) / groups_per_campaign)
    for k in range(n_campaigns):
        created = float(int(start - 30 * DAY_S + k * (28 * DAY_S / n_campaigns)))
        c = Campaign(
            adv, ids.next("1"), f"Bench campaign {k + 1:03d}", "WEB_CONVERSIONS", INFINITE, 0.0, ENABLE, created
        )
        c.events.extend((created + 300, created + 420))
        for j, size in enumerate(sizes[k * groups_per_campaign : (k + 1) * groups_per_campaign]):
            rng = random.Random(f"{spec.advertiser_id}:adgroup:{k}:{j}")
            g = AdGroup(
                c,
                ids.next("2"),
                f"Bench campaign {k + 1:03d} / group {j + 1:02d}",
                DAY,
                0.0,
                ENABLE,
                created + 300,
                "CONVERT",
                "OCPM",
                None,
            )
            for _ in range(size):
                ad_id = ids.next("3")
                g.add_ad(
                    Ad(
                        g,
                        ad_id,
                        f"Bench ad {ad_id[-6:]}",
                        "Everything must go.",
                        created + 420,
                        rng.uniform(0.02, 0.3),
                        cpm=rng.uniform(4, 12),
                        ctr=rng.uniform(0.006, 0.025),
                        cvr=0.0 if rng.random() < 0.1 else rng.uniform(0.02, 0.08),
                        aov=rng.uniform(20, 80),
                    )
                )
            g.budgets = Timeline(g.create_time, _whole(10 * _daily(g.plain_rate), 20 * cur.ratio))
            c.adgroups.append(g)
        _register(adv, c)
    return adv
