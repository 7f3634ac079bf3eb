"""Computing BASIC report rows from the world (the query is parsed in report_query.py); AUDIENCE rows are the
BASIC ones split over audience values (audience.py).

Rows: one per (entity at the data level, time bucket) that had impressions or spend; entities with neither get
no row at all. Default order: entity id descending, then time ascending; ``order_field`` sorts by that metric
(stable, "-" counts as 0). Sync reports at AUCTION_AD level cover at most :data:`SYNC_AD_LIMIT` ads (or
``SandboxSettings.sync_ad_limit``) — the newest by create_time — and say so with the ``X-Tt-Ads-Throttle``
header (set by the handler).

:class:`ReportCache` lets the pages of one sync report share one computation: a result is reused for the same
query while the world has not been written to and world time has moved less than :data:`FRESH_SECONDS`
(TikTok's own report data lags by about 30 minutes, so this is still fresher than the real thing).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import timedelta

from monitor.sandbox.audience import split_totals, splits
from monitor.sandbox.entities import DELETE, Ad, AdGroup, Advertiser, Campaign
from monitor.sandbox.metrics import Totals, format_metrics, numbers
from monitor.sandbox.report_query import TIME_DIMENSIONS, ReportQuery
from monitor.sandbox.smartplus import SmartPlusAd
from monitor.sandbox.spend import plain_exposure, special_exposure
from monitor.sandbox.world import World

SYNC_AD_LIMIT = 20_000
FRESH_SECONDS = 10.0
CACHE_SIZE = 8

Bucket = tuple[str | None, float, float]  # (label, start, end) epoch seconds


@dataclass(slots=True)
class Row:
    key: str | None
    entity: Advertiser | Campaign | AdGroup | Ad | SmartPlusAd | None
    bucket: int
    label: str | None
    totals: Totals
    audience: dict[str, str] | None = None  # AUDIENCE reports: the row's audience dimension values


@dataclass(slots=True)
class ReportResult:
    query: ReportQuery
    advertiser: Advertiser
    rows: list[Row]
    truncated: bool
    now: float
    ads: int = 0  # at AUCTION_AD level, the ads the report covers before the cap (a multi report's cap: all of them)


def run_report(
    world: World, adv: Advertiser, q: ReportQuery, now: float, *, sync: bool, ad_limit: int = SYNC_AD_LIMIT
) -> ReportResult:
    buckets = _buckets(adv, q, now)
    ads = _candidate_ads(adv, q, now)
    covered = len(ads) if q.level == "AUCTION_AD" else 0
    truncated = False
    if sync and q.level == "AUCTION_AD" and len(ads) > ad_limit:
        ads = sorted(ads, key=lambda a: (a.create_time, int(a.ad_id)), reverse=True)[:ad_limit]
        truncated = True
    rows = _accumulate(world, adv, q, buckets, ads, now) if buckets else []
    rows.sort(key=lambda r: (-int(r.key) if r.key else 0, r.bucket))
    if q.audience:
        rows = _split(rows, q.audience, adv.advertiser_id)
    if q.order_field:
        field = q.order_field
        rows.sort(key=lambda r: numbers(r.totals).get(field) or 0.0, reverse=q.order_desc)
    return ReportResult(q, adv, rows, truncated, now, covered)


class ReportCache:
    """A few recent sync report results (see the module docstring)."""

    def __init__(self, ad_limit: int = SYNC_AD_LIMIT) -> None:
        self.ad_limit = ad_limit
        self._lock = threading.Lock()  # reports are computed in worker threads, one at a time
        self._items: OrderedDict[tuple[object, ...], tuple[int, ReportResult]] = OrderedDict()

    def get_or_run(self, world: World, adv: Advertiser, q: ReportQuery, now: float) -> ReportResult:
        with self._lock:
            return self._get_or_run(world, adv, q, now)

    def _get_or_run(self, world: World, adv: Advertiser, q: ReportQuery, now: float) -> ReportResult:
        key = q.cache_key()
        hit = self._items.get(key)
        if hit is not None and hit[0] == world.version and 0.0 <= now - hit[1].now < FRESH_SECONDS:
            self._items.move_to_end(key)
            return replace(hit[1], query=q)
        result = run_report(world, adv, q, now, sync=True, ad_limit=self.ad_limit)
        self._items[key] = (world.version, result)
        self._items.move_to_end(key)
        while len(self._items) > CACHE_SIZE:
            self._items.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _split(rows: list[Row], audience: tuple[str, ...], advertiser_id: str) -> list[Row]:
    """Each row in parts over the audience dimension values (audience.py), in value order; empty parts dropped."""
    out: list[Row] = []
    for row in rows:
        combos = splits(row.key or advertiser_id, audience)
        parts = split_totals(row.totals, [weight for _, weight in combos])
        out.extend(
            Row(row.key, row.entity, row.bucket, row.label, part, values)
            for (values, _), part in zip(combos, parts, strict=True)
            if not part.empty
        )
    return out


def _buckets(adv: Advertiser, q: ReportQuery, now: float) -> list[Bucket]:
    cal = adv.calendar
    if q.lifetime:
        raw: list[Bucket] = [(None, -math.inf, now)]
    else:
        assert q.start is not None and q.end is not None
        if q.time_dimension == "stat_time_hour":
            raw = list(cal.hours(q.start))
        elif q.time_dimension == "stat_time_day":
            days = [q.start + timedelta(days=i) for i in range((q.end - q.start).days + 1)]
            raw = [(f"{d.isoformat()} 00:00:00", *cal.day_bounds(d)) for d in days]
        else:
            raw = [(None, cal.day_bounds(q.start)[0], cal.day_bounds(q.end)[1])]
    return [(label, a, min(b, now)) for label, a, b in raw if a < now]


def _matches(q: ReportQuery, name: str, entity_id: str) -> bool:
    rule = q.id_filters.get(name)
    if rule is None:
        return True
    ids, negated = rule
    return (entity_id in ids) != negated


def _candidate_ads(adv: Advertiser, q: ReportQuery, now: float) -> list[Ad]:
    """Ads whose delivery feeds the report: id filters applied, deleted objects (at or above the data level)
    left out unless a *_status filter asked for STATUS_ALL."""
    skip_deleted = not q.include_deleted
    out: list[Ad] = []
    for c in adv.campaigns:
        if not _matches(q, "campaign_ids", c.campaign_id):
            continue
        if skip_deleted and q.level != "AUCTION_ADVERTISER" and c.statuses.at(now) == DELETE:
            continue
        for g in c.adgroups:
            if not _matches(q, "adgroup_ids", g.adgroup_id):
                continue
            if skip_deleted and q.level in ("AUCTION_ADGROUP", "AUCTION_AD") and g.statuses.at(now) == DELETE:
                continue
            if "ad_ids" in q.id_filters or (skip_deleted and q.level == "AUCTION_AD" and g.special):
                out.extend(
                    ad
                    for ad in g.ads
                    if _matches(q, "ad_ids", ad.ad_id) and not (skip_deleted and ad.status_at(now) == DELETE)
                )
            else:
                out.extend(g.ads)
    return out


def _key_of(
    q: ReportQuery, ad: Ad, world: World
) -> tuple[str | None, Advertiser | Campaign | AdGroup | Ad | SmartPlusAd | None]:
    if not q.has_id_dimension:
        return None, None
    if q.level == "AUCTION_AD":  # ad_id: creative ids for Smart+ ads; ad_id_v2: their Smart+ ad ids
        smart = world.smart_plus.of_creative(ad) if "ad_id_v2" in q.dimensions else None
        return (smart.smart_plus_ad_id, smart) if smart is not None else (ad.ad_id, ad)
    if q.level == "AUCTION_ADGROUP":
        return ad.adgroup.adgroup_id, ad.adgroup
    c = ad.adgroup.campaign
    if q.level == "AUCTION_CAMPAIGN":
        return c.campaign_id, c
    return c.advertiser.advertiser_id, c.advertiser


def _accumulate(
    world: World, adv: Advertiser, q: ReportQuery, buckets: list[Bucket], ads: list[Ad], now: float
) -> list[Row]:
    F = adv.curve.F
    xs = [F(buckets[0][1])] + [F(b[2]) for b in buckets]
    seconds = [b[2] - b[1] for b in buckets]
    rows: dict[tuple[str | None, int], Row] = {}
    plain_cache: dict[str, list[float]] = {}
    surges = world.surges
    bounds = [buckets[0][1]] + [b[2] for b in buckets]
    for ad in ads:
        g = ad.adgroup
        state = world.state(g.campaign, now)
        exposure: list[float] | None
        if ad.is_special:
            exposure = special_exposure(state, ad, xs)
        else:
            exposure = plain_cache.get(g.adgroup_id)
            if exposure is None:
                exposure = plain_cache[g.adgroup_id] = plain_exposure(state, g, xs)
        key, entity = _key_of(q, ad, world)
        rate, ipm, ctr, cvr = ad.rate, ad.imp_per_money, ad.ctr, ad.cvr
        if surges:  # injected spend (surges.py): cumulative at each boundary, added to the delivered
            extra = [surges.before(ad.ad_id, t) for t in bounds]
            exposure = [e + x / rate for e, x in zip(exposure, extra, strict=True)] if rate > 0 else exposure
        s0 = rate * exposure[0]
        i0, c0, v0 = math.floor(s0 * ipm), math.floor(s0 * ipm * ctr), math.floor(s0 * ipm * ctr * cvr)
        for k in range(len(buckets)):
            s1 = rate * exposure[k + 1]
            if s1 > s0:
                i1, c1 = math.floor(s1 * ipm), math.floor(s1 * ipm * ctr)
                v1 = math.floor(s1 * ipm * ctr * cvr)
                row = rows.get((key, k))
                if row is None:
                    row = rows[(key, k)] = Row(key, entity, k, buckets[k][0], Totals(seconds[k]))
                t = row.totals
                t.spend += s1 - s0
                t.impressions += i1 - i0
                t.clicks += c1 - c0
                t.conversion += v1 - v0
                t.value += (v1 - v0) * ad.aov
                s0, i0, c0, v0 = s1, i1, c1, v1
    return [r for r in rows.values() if not r.totals.empty]


def attributes(entity: object, adv: Advertiser, now: float) -> dict[str, str]:
    """Attribute metrics of a row's entity (those not defined at its level are "-")."""
    out = {"currency": adv.currency}
    smart = entity if isinstance(entity, SmartPlusAd) else None
    ad = entity if isinstance(entity, Ad) else smart.creatives[0] if smart else None
    g = ad.adgroup if ad else entity if isinstance(entity, AdGroup) else None
    c = g.campaign if g else entity if isinstance(entity, Campaign) else None
    if c is not None:
        status = c.statuses.at(now) or "ENABLE"
        out.update(
            campaign_name=c.name,
            campaign_id=c.campaign_id,
            objective_type=c.objective_type,
            campaign_budget=f"{c.budgets.at(now) or 0.0:.2f}",
            budget=f"{c.budgets.at(now) or 0.0:.2f}",
            opt_status=status,
            campaign_automation_type=c.automation_type,
        )
    if g is not None:
        out.update(
            adgroup_name=g.name,
            adgroup_id=g.adgroup_id,
            budget=f"{g.budgets.at(now) or 0.0:.2f}",
            opt_status=g.statuses.at(now) or "ENABLE",
            bid=f"{g.bid_price:.2f}",
            bid_strategy="BID_TYPE_NO_BID",
            billing_event=g.billing_event,
            placement_type="PLACEMENT_TYPE_AUTOMATIC",
        )
    if ad is not None:
        out.update(
            ad_name=smart.name if smart else ad.name, ad_text=ad.ad_text, opt_status=ad.status_at(now) or "ENABLE"
        )
    return out


def format_row(result: ReportResult, row: Row) -> tuple[dict[str, str], dict[str, str]]:
    """(dimensions, metrics) of one row, every value a string."""
    q = result.query
    audience = row.audience or {}
    dims = {d: audience.get(d, (row.label if d in TIME_DIMENSIONS else row.key) or "") for d in q.dimensions}
    attrs = attributes(row.entity, result.advertiser, result.now)
    return dims, format_metrics(list(q.metrics), row.totals, attrs)
