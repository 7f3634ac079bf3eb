"""Delivery status (``secondary_status``) derived at read time, and its ``primary_status`` group.

Precedence (first match wins), following tiktok-api.md §4:

* campaign: DELETE > DISABLE > BUDGET_EXCEED > ENABLE
* ad group: DELETE > CAMPAIGN_DELETE > DISABLE > CAMPAIGN_DISABLE > CAMPAIGN_EXCEED > BUDGET_EXCEED > DELIVERY_OK
* ad: DELETE > ADGROUP_DELETE > CAMPAIGN_DELETE > DISABLE > AUDIT_DENY > ADGROUP_DISABLE > CAMPAIGN_DISABLE
  > CAMPAIGN_EXCEED > BUDGET_EXCEED (its ad group's budget) > DELIVERY_OK
"""

from __future__ import annotations

from monitor.sandbox.entities import DELETE, ENABLE, Ad, AdGroup, Campaign
from monitor.sandbox.ledger import CampaignState

DELIVERY_OK = "STATUS_DELIVERY_OK"
DISABLED = "STATUS_DISABLE"
NOT_DELIVERY = "STATUS_NOT_DELIVERY"
DELETED = "STATUS_DELETE"

_PRIMARY = {
    "CAMPAIGN_STATUS_ENABLE": DELIVERY_OK,
    "CAMPAIGN_STATUS_DISABLE": DISABLED,
    "CAMPAIGN_STATUS_BUDGET_EXCEED": NOT_DELIVERY,
    "CAMPAIGN_STATUS_DELETE": DELETED,
    "ADGROUP_STATUS_DELIVERY_OK": DELIVERY_OK,
    "ADGROUP_STATUS_DISABLE": DISABLED,
    "ADGROUP_STATUS_CAMPAIGN_DISABLE": DISABLED,
    "ADGROUP_STATUS_BUDGET_EXCEED": NOT_DELIVERY,
    "ADGROUP_STATUS_CAMPAIGN_EXCEED": NOT_DELIVERY,
    "ADGROUP_STATUS_DELETE": DELETED,
    "ADGROUP_STATUS_CAMPAIGN_DELETE": DELETED,
    "AD_STATUS_DELIVERY_OK": DELIVERY_OK,
    "AD_STATUS_DISABLE": DISABLED,
    "AD_STATUS_ADGROUP_DISABLE": DISABLED,
    "AD_STATUS_CAMPAIGN_DISABLE": DISABLED,
    "AD_STATUS_AUDIT_DENY": NOT_DELIVERY,
    "AD_STATUS_BUDGET_EXCEED": NOT_DELIVERY,
    "AD_STATUS_CAMPAIGN_EXCEED": NOT_DELIVERY,
    "AD_STATUS_DELETE": DELETED,
    "AD_STATUS_ADGROUP_DELETE": DELETED,
    "AD_STATUS_CAMPAIGN_DELETE": DELETED,
}

#: Every value the sandbox can report, per entity kind (the filter accepts these and the *_ALL pseudo values).
SECONDARY_VALUES = {
    kind: frozenset(s for s in _PRIMARY if s.startswith(prefix))
    for kind, prefix in (("campaign", "CAMPAIGN_"), ("adgroup", "ADGROUP_"), ("ad", "AD_"))
}

PRIMARY_FILTERS = frozenset(
    {
        "STATUS_ALL",
        "STATUS_NOT_DELETE",
        "STATUS_DELETE",
        "STATUS_DELIVERY_OK",
        "STATUS_DISABLE",
        "STATUS_NOT_DELIVERY",
        "STATUS_TIME_DONE",
        "STATUS_RF_CLOSED",
        "STATUS_FROZEN",
    }
)


def primary_of(secondary: str) -> str:
    return _PRIMARY[secondary]


def campaign_secondary(c: Campaign, state: CampaignState) -> str:
    op = c.statuses.at(state.now)
    if op == DELETE:
        return "CAMPAIGN_STATUS_DELETE"
    if op != ENABLE:
        return "CAMPAIGN_STATUS_DISABLE"
    if state.campaign_exceeded:
        return "CAMPAIGN_STATUS_BUDGET_EXCEED"
    return "CAMPAIGN_STATUS_ENABLE"


def adgroup_secondary(g: AdGroup, state: CampaignState) -> str:
    op, parent = g.statuses.at(state.now), g.campaign.statuses.at(state.now)
    if op == DELETE:
        return "ADGROUP_STATUS_DELETE"
    if parent == DELETE:
        return "ADGROUP_STATUS_CAMPAIGN_DELETE"
    if op != ENABLE:
        return "ADGROUP_STATUS_DISABLE"
    if parent != ENABLE:
        return "ADGROUP_STATUS_CAMPAIGN_DISABLE"
    if state.campaign_exceeded:
        return "ADGROUP_STATUS_CAMPAIGN_EXCEED"
    if g.adgroup_id in state.exceeded_adgroups:
        return "ADGROUP_STATUS_BUDGET_EXCEED"
    return "ADGROUP_STATUS_DELIVERY_OK"


def ad_secondary(ad: Ad, state: CampaignState) -> str:
    now = state.now
    g = ad.adgroup
    op, g_op, c_op = ad.status_at(now), g.statuses.at(now), g.campaign.statuses.at(now)
    if op == DELETE:
        return "AD_STATUS_DELETE"
    if g_op == DELETE:
        return "AD_STATUS_ADGROUP_DELETE"
    if c_op == DELETE:
        return "AD_STATUS_CAMPAIGN_DELETE"
    if op != ENABLE:
        return "AD_STATUS_DISABLE"
    if ad.rejected_at(now):
        return "AD_STATUS_AUDIT_DENY"
    if g_op != ENABLE:
        return "AD_STATUS_ADGROUP_DISABLE"
    if c_op != ENABLE:
        return "AD_STATUS_CAMPAIGN_DISABLE"
    if state.campaign_exceeded:
        return "AD_STATUS_CAMPAIGN_EXCEED"
    if g.adgroup_id in state.exceeded_adgroups:
        return "AD_STATUS_BUDGET_EXCEED"
    return "AD_STATUS_DELIVERY_OK"


def is_deleted(secondary: str) -> bool:
    return _PRIMARY[secondary] == DELETED
