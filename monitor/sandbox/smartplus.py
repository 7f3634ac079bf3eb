"""Upgraded Smart+ in the simulated world (tiktok-api.md §12): which campaigns are Smart+ and what their ads are.

With ``smart_plus_campaigns`` = N the last N campaigns of each regular advertiser have
``campaign_automation_type`` UPGRADED_SMART_PLUS. Their campaigns and ad groups are the ordinary objects (same
ids and names on campaign/get, adgroup/get and smart_plus/*/get). Their ads are modelled as TikTok shows them:
each Smart+ ad group holds one **Smart+ ad** (``smart_plus_ad_id``, its real name), and the ad group's ordinary
:class:`~monitor.sandbox.entities.Ad` objects are that ad's **creatives**: ``ad/get/`` lists them with creative ids
and creative file names as ``ad_name``, and a report's ``ad_id`` dimension gives those creative ids, while
``ad_id_v2`` gives the Smart+ ad id (one row per Smart+ ad). Writes to Smart+ objects go through
``smart_plus/*`` (:mod:`monitor.sandbox.api_smartplus`); the ordinary write endpoints refuse them with a 40002
saying which endpoint to use (the sandbox's choice: the real answer is not documented).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from monitor.sandbox.catalog import ACCOUNTS
from monitor.sandbox.entities import Ad, AdGroup, Advertiser, Campaign

MANUAL = "MANUAL"
UPGRADED = "UPGRADED_SMART_PLUS"
#: The values of ``campaign_automation_type`` (filter and field).
AUTOMATION_TYPES = ("MANUAL", "SMART_PLUS", "UPGRADED_SMART_PLUS", "UPGRADED_SMART_PLUS_CREATIVE")
SMART_KIND = "4"  # the id "kind" digit of Smart+ ads (campaigns 1, ad groups 2, ads 3)


@dataclass(slots=True)
class SmartPlusAd:
    """One Upgraded Smart+ ad: its id and name, its ad group, and its creatives (the ad group's ads)."""

    smart_plus_ad_id: str
    name: str
    adgroup: AdGroup
    creatives: list[Ad] = field(default_factory=list)


class SmartPlus:
    """The Smart+ ads of the world, by id and by creative id."""

    def __init__(self) -> None:
        self.ads: dict[str, SmartPlusAd] = {}
        self._by_creative: dict[str, SmartPlusAd] = {}
        self._by_adgroup: dict[str, SmartPlusAd] = {}

    @classmethod
    def mark(cls, advertisers: Iterable[Advertiser], count: int) -> SmartPlus:
        """Make the last ``count`` campaigns of each regular advertiser Upgraded Smart+ ones: their ads become
        creatives (named like uploaded files) of one Smart+ ad per ad group, which takes the first ad's name."""
        book = cls()
        regular = {spec.advertiser_id for spec in ACCOUNTS}
        for adv in advertisers:
            if adv.advertiser_id not in regular or count <= 0:
                continue
            for c in adv.campaigns[-count:]:
                c.automation_type = UPGRADED
                for g in c.adgroups:
                    book._add(g)
        return book

    def _add(self, g: AdGroup) -> None:
        gid = g.adgroup_id
        ad_id = gid[:4] + SMART_KIND + gid[5:]
        name = g.ads[0].name if g.ads else g.name
        sp = SmartPlusAd(ad_id, name, g, list(g.ads))
        for a in g.ads:
            a.name = f"creative_{a.ad_id[-8:]}.mp4"
            self._by_creative[a.ad_id] = sp
        self.ads[ad_id] = sp
        self._by_adgroup[gid] = sp

    def of_creative(self, ad: Ad) -> SmartPlusAd | None:
        return self._by_creative.get(ad.ad_id)

    def of_adgroup(self, g: AdGroup) -> SmartPlusAd | None:
        return self._by_adgroup.get(g.adgroup_id)

    def ad_id_v2(self, ad: Ad) -> str:
        """The report's ``ad_id_v2`` of an ad: its Smart+ ad's id for a creative, its own id otherwise."""
        sp = self._by_creative.get(ad.ad_id)
        return sp.smart_plus_ad_id if sp is not None else ad.ad_id


def is_smart(entity: Campaign | AdGroup | Ad) -> bool:
    """The entity belongs to an Upgraded Smart+ campaign."""
    c = (
        entity
        if isinstance(entity, Campaign)
        else entity.campaign
        if isinstance(entity, AdGroup)
        else entity.adgroup.campaign
    )
    return c.automation_type == UPGRADED
