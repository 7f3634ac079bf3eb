"""The world model: advertisers and their entities, what they have spent, and the writes that change them.

Built relative to ``start`` (the clock's time at construction); everything after that is driven by the ``now``
each caller passes in (epoch seconds), so a frozen clock gives fully deterministic reads. Writes take effect at
``now``: a pause stops accrual from that instant, a re-enable restarts it, a campaign budget applies at once, an
ad group's lifetime budget at once and its daily (scheduled) budget at the next local midnight.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from monitor.sandbox.builder import build_advertisers
from monitor.sandbox.entities import DAY, DELETE, ENABLE, Ad, AdGroup, Advertiser, Campaign, Timeline
from monitor.sandbox.ledger import CampaignLedger, CampaignState
from monitor.sandbox.settings import SandboxSettings
from monitor.sandbox.smartplus import SmartPlus
from monitor.sandbox.spend import ad_cumulative
from monitor.sandbox.status import ad_secondary, adgroup_secondary, campaign_secondary
from monitor.sandbox.surges import Surges

Entity = Campaign | AdGroup | Ad


class World:
    """All advertisers of the sandbox. Methods take ``now`` (UTC epoch seconds) explicitly."""

    def __init__(self, settings: SandboxSettings, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        self.start = start.timestamp()
        self.advertisers: dict[str, Advertiser] = {a.advertiser_id: a for a in build_advertisers(settings, self.start)}
        #: The Upgraded Smart+ campaigns' ads (none unless ``settings.smart_plus_campaigns``).
        self.smart_plus = SmartPlus.mark(self.advertisers.values(), settings.smart_plus_campaigns)
        self._ledgers: dict[str, CampaignLedger] = {
            c.campaign_id: CampaignLedger(c) for a in self.advertisers.values() for c in a.campaigns
        }
        self._listings: dict[tuple[str, str], list[Entity]] = {}
        self._visible: dict[tuple[str, str], tuple[int, list[Entity]]] = {}
        #: Bumped by every write; ``_last_write`` is the latest world time a write happened at.
        self.version = 0
        self._last_write = float("-inf")
        #: Injected spend (``POST /sandbox/spend``): lumps reports add, budgets do not cap.
        self.surges = Surges()

    # ---- lookup -------------------------------------------------------------------------------------------
    def advertiser(self, advertiser_id: str) -> Advertiser | None:
        return self.advertisers.get(advertiser_id)

    def find(self, entity_id: str) -> Entity | None:
        """Any campaign, ad group or ad by id."""
        for adv in self.advertisers.values():
            found: Entity | None = adv.campaign_index.get(entity_id) or adv.adgroup_index.get(entity_id)
            found = found or adv.ad_index.get(entity_id)
            if found is not None:
                return found
        return None

    def listing(self, adv: Advertiser, kind: str) -> list[Entity]:
        """All campaigns / ad groups / ads ("campaign", "adgroup", "ad") of ``adv``, id descending (cached:
        the sandbox never creates entities after start)."""
        key = (adv.advertiser_id, kind)
        found = self._listings.get(key)
        if found is None:
            indexes: dict[str, Mapping[str, Entity]] = {
                "campaign": adv.campaign_index,
                "adgroup": adv.adgroup_index,
                "ad": adv.ad_index,
            }
            index = indexes[kind]
            found = self._listings[key] = sorted(index.values(), key=_id_key, reverse=True)
        return found

    def visible(self, adv: Advertiser, kind: str, now: float) -> list[Entity]:
        """:meth:`listing` without deleted entities and those under a deleted parent (cached until a write)."""
        key = (adv.advertiser_id, kind)
        cached = self._visible.get(key)
        if cached is not None and cached[0] == self.version and now >= self._last_write:
            return cached[1]
        memo: dict[Campaign | AdGroup, bool] = {}

        def alive(e: Campaign | AdGroup) -> bool:
            ok = memo.get(e)
            if ok is None:
                ok = memo[e] = e.statuses.at(now) != DELETE and (not isinstance(e, AdGroup) or alive(e.campaign))
            return ok

        def keep(e: Entity) -> bool:
            if isinstance(e, Ad):
                return alive(e.adgroup) and (e.statuses is None or e.status_at(now) != DELETE)
            return alive(e)

        found = [e for e in self.listing(adv, kind) if keep(e)]
        if now >= self._last_write:
            self._visible[key] = (self.version, found)
        return found

    def ads(self) -> Iterator[Ad]:
        for adv in self.advertisers.values():
            yield from adv.ad_index.values()

    # ---- reads --------------------------------------------------------------------------------------------
    def state(self, campaign: Campaign, now: float) -> CampaignState:
        return self._ledgers[campaign.campaign_id].state(now)

    def secondary_status(self, entity: Entity, now: float) -> str:
        if isinstance(entity, Campaign):
            return campaign_secondary(entity, self.state(entity, now))
        if isinstance(entity, AdGroup):
            return adgroup_secondary(entity, self.state(entity.campaign, now))
        return ad_secondary(entity, self.state(entity.adgroup.campaign, now))

    def operation_status(self, entity: Entity, now: float) -> str:
        status = entity.status_at(now) if isinstance(entity, Ad) else entity.statuses.at(now)
        return status or ENABLE

    def spend_today(self, entity: Entity, now: float) -> float:
        """Spend since the start of the account's local day (what daily budgets cap)."""
        if isinstance(entity, Campaign):
            return self.state(entity, now).campaign_day_spend
        if isinstance(entity, AdGroup):
            return self.state(entity.campaign, now).day_spend[entity.adgroup_id]
        d0 = entity.adgroup.campaign.advertiser.calendar.day_of(now)[0]
        return self.ad_spend(entity, d0, now, now)

    def spend_lifetime(self, entity: Entity, now: float) -> float:
        """Spend since creation (what lifetime budgets cap)."""
        if isinstance(entity, Campaign):
            return self.state(entity, now).campaign_life_spend
        if isinstance(entity, AdGroup):
            return self.state(entity.campaign, now).life_spend[entity.adgroup_id]
        return self.ad_spend(entity, float("-inf"), now, now)

    def ad_spend(self, ad: Ad, t0: float, t1: float, now: float) -> float:
        """Spend of one ad in [t0, min(t1, now))."""
        c = ad.adgroup.campaign
        F = c.advertiser.curve.F
        end = min(t1, now)
        lo, hi = ad_cumulative(self.state(c, now), ad, [F(t0), F(end)])
        return max(0.0, hi - lo) + max(0.0, self.surges.before(ad.ad_id, end) - self.surges.before(ad.ad_id, t0))

    def add_surge(self, ad: Ad, amount: float, now: float) -> None:
        """``ad`` spends ``amount`` more at ``now`` (see :mod:`monitor.sandbox.surges`)."""
        self.surges.add(ad.ad_id, amount, now)
        self.version += 1  # cached report results are stale

    # ---- writes -------------------------------------------------------------------------------------------
    def set_status(self, entity: Entity, status: str, now: float) -> None:
        """ENABLE / DISABLE / DELETE from ``now`` on (callers refuse writes to deleted entities)."""
        if self.operation_status(entity, now) == status:
            return
        if isinstance(entity, Ad):
            if entity.statuses is None:
                entity.adgroup.make_special(entity)
                entity.statuses = Timeline(entity.create_time, ENABLE)
            timeline = entity.statuses
        else:
            timeline = entity.statuses
        timeline.set(now, status)
        entity.modify_time = now
        self._changed(_campaign_of(entity), now)

    def is_deleted(self, entity: Entity, now: float) -> bool:
        """The entity or one of its parents is deleted."""
        chain: list[Entity] = [entity]
        if isinstance(entity, Ad):
            chain += [entity.adgroup, entity.adgroup.campaign]
        elif isinstance(entity, AdGroup):
            chain.append(entity.campaign)
        return any(self.operation_status(e, now) == DELETE for e in chain)

    def rename_campaign(self, c: Campaign, name: str, now: float) -> None:
        c.name = name
        c.modify_time = now
        self.version += 1

    def set_campaign_budget(self, c: Campaign, budget: float, now: float) -> None:
        c.budgets.set(now, budget)
        c.modify_time = now
        self._changed(c, now)

    def set_adgroup_budget(self, g: AdGroup, budget: float, now: float) -> float:
        """Lifetime budgets apply at once; daily budgets at the next local midnight. Returns when it applies."""
        effective = now if g.budget_mode != DAY else g.campaign.advertiser.calendar.next_midnight(now)
        g.budgets.set(effective, budget)
        g.modify_time = now
        self._changed(g.campaign, now, effective)
        return effective

    def _changed(self, c: Campaign, now: float, at: float | None = None) -> None:
        self.version += 1
        self._last_write = max(self._last_write, now)
        c.add_event(now if at is None else at)
        self._ledgers[c.campaign_id].invalidate(now)


def _id_key(entity: Entity) -> int:
    if isinstance(entity, Campaign):
        return int(entity.campaign_id)
    if isinstance(entity, AdGroup):
        return int(entity.adgroup_id)
    return int(entity.ad_id)


def _campaign_of(entity: Entity) -> Campaign:
    if isinstance(entity, Campaign):
        return entity
    if isinstance(entity, AdGroup):
        return entity.campaign
    return entity.adgroup.campaign
