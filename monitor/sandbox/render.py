"""Entities as the API returns them (``data.list[]`` items), restricted to the requested ``fields``.

Shapes follow tiktok-api.md §2.3 and §3: ids are strings, budgets floats, times "YYYY-MM-DD HH:MM:SS" UTC
(advertiser ``create_time`` is Unix seconds). Fields the sandbox has no real model for carry plausible constant
values. ``budget_optimize_on`` is only returned when asked for (TikTok returns it only when true).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monitor.sandbox.entities import Ad, AdGroup, Advertiser, Campaign
from monitor.sandbox.localtime import utc_text
from monitor.sandbox.params import param_error
from monitor.sandbox.world import World

ADVERTISER_FIELDS = (
    "advertiser_id",
    "name",
    "status",
    "role",
    "rejection_reason",
    "timezone",
    "display_timezone",
    "currency",
    "balance",
    "create_time",
    "company",
    "country",
    "industry",
    "advertiser_account_type",
    "owner_bc_id",
    "email",
    "telephone_number",
    "cellphone_number",
    "contacter",
    "address",
    "language",
    "description",
    "license_no",
    "license_url",
    "promotion_area",
    "brand",
)
CAMPAIGN_FIELDS = (
    "advertiser_id",
    "campaign_id",
    "campaign_name",
    "campaign_type",
    "campaign_automation_type",
    "objective_type",
    "objective",
    "budget",
    "budget_mode",
    "operation_status",
    "secondary_status",
    "is_smart_performance_campaign",
    "is_search_campaign",
    "is_new_structure",
    "is_advanced_dedicated_campaign",
    "deep_bid_type",
    "roas_bid",
    "special_industries",
    "rf_campaign_type",
    "app_promotion_type",
    "campaign_product_source",
    "po_number",
    "budget_optimize_on",
    "status",
    "campaign_app_profile_page_state",
    "create_time",
    "modify_time",
)
ADGROUP_FIELDS = (
    "advertiser_id",
    "campaign_id",
    "campaign_name",
    "adgroup_id",
    "adgroup_name",
    "operation_status",
    "secondary_status",
    "budget",
    "budget_mode",
    "schedule_type",
    "schedule_start_time",
    "schedule_end_time",
    "optimization_goal",
    "billing_event",
    "bid_type",
    "bid_price",
    "conversion_bid_price",
    "pacing",
    "placement_type",
    "placements",
    "promotion_type",
    "location_ids",
    "gender",
    "age_groups",
    "languages",
    "is_new_structure",
    "create_time",
    "modify_time",
)
AD_FIELDS = (
    "advertiser_id",
    "campaign_id",
    "campaign_name",
    "adgroup_id",
    "adgroup_name",
    "ad_id",
    "ad_name",
    "operation_status",
    "secondary_status",
    "is_aco",
    "ad_format",
    "ad_text",
    "video_id",
    "image_ids",
    "display_name",
    "identity_type",
    "identity_id",
    "call_to_action",
    "landing_page_url",
    "create_time",
    "modify_time",
)
_ONLY_ON_REQUEST = frozenset({"budget_optimize_on"})
#: Campaign fields returned only when asked for (``status`` is the v1.2 name of ``secondary_status``).
_CAMPAIGN_ON_REQUEST = _ONLY_ON_REQUEST | {"status", "campaign_app_profile_page_state"}


def check_fields(requested: list[str] | None, known: Iterable[str]) -> list[str] | None:
    """40002 on unknown field names."""
    if requested is None:
        return None
    known_set = set(known)
    unknown = [f for f in requested if f not in known_set]
    if unknown:
        raise param_error(f"fields: Invalid field(s): {', '.join(unknown)}.")
    return requested


def _pick(
    full: dict[str, Any], requested: list[str] | None, hidden: frozenset[str] = _ONLY_ON_REQUEST
) -> dict[str, Any]:
    if requested is None:
        return {k: v for k, v in full.items() if k not in hidden}
    return {f: full[f] for f in requested}


def advertiser(adv: Advertiser, requested: list[str] | None) -> dict[str, Any]:
    sfx = adv.advertiser_id[-2:]
    full = {
        "advertiser_id": adv.advertiser_id,
        "name": adv.name,
        "status": adv.status,
        "role": "ROLE_ADVERTISER",
        "rejection_reason": "",
        "timezone": adv.timezone,
        "display_timezone": adv.zone_name,
        "currency": adv.currency,
        "balance": adv.balance,
        "create_time": int(adv.create_time),
        "company": adv.company,
        "country": adv.country,
        "industry": adv.industry,
        "advertiser_account_type": "AUCTION",
        "owner_bc_id": f"71000000000000000{sfx}",
        "email": f"a***{sfx}@example.com",
        "telephone_number": f"+1*******{sfx}",
        "cellphone_number": f"+1*******{sfx}",
        "contacter": "J*** D***",
        "address": "1 Example Street",
        "language": "en",
        "description": f"Sandbox account {adv.name}",
        "license_no": "",
        "license_url": "",
        "promotion_area": "0",
        "brand": adv.name,
    }
    return _pick(full, requested)


def campaign(world: World, c: Campaign, now: float, requested: list[str] | None) -> dict[str, Any]:
    full = {
        "advertiser_id": c.advertiser.advertiser_id,
        "campaign_id": c.campaign_id,
        "campaign_name": c.name,
        "campaign_type": "REGULAR_CAMPAIGN",
        "campaign_automation_type": c.automation_type,
        "objective_type": c.objective_type,
        "objective": "LANDING_PAGE",
        "budget": c.budgets.at(now) or 0.0,
        "budget_mode": c.budget_mode,
        "operation_status": world.operation_status(c, now),
        "secondary_status": world.secondary_status(c, now),
        "is_smart_performance_campaign": False,
        "is_search_campaign": False,
        "is_new_structure": True,
        "is_advanced_dedicated_campaign": False,
        "deep_bid_type": None,
        "roas_bid": 0.0,
        "special_industries": [],
        "rf_campaign_type": "STANDARD",
        "app_promotion_type": "UNSET",
        "campaign_product_source": None,
        "po_number": "",
        "budget_optimize_on": False,
        "status": world.secondary_status(c, now),  # the v1.2 name of secondary_status, still accepted in fields
        "campaign_app_profile_page_state": None,  # app promotion only
        "create_time": utc_text(c.create_time),
        "modify_time": utc_text(c.modify_time),
    }
    return _pick(full, requested, _CAMPAIGN_ON_REQUEST)


def adgroup(world: World, g: AdGroup, now: float, requested: list[str] | None) -> dict[str, Any]:
    c = g.campaign
    full = {
        "advertiser_id": c.advertiser.advertiser_id,
        "campaign_id": c.campaign_id,
        "campaign_name": c.name,
        "adgroup_id": g.adgroup_id,
        "adgroup_name": g.name,
        "operation_status": world.operation_status(g, now),
        "secondary_status": world.secondary_status(g, now),
        "budget": g.budgets.at(now) or 0.0,
        "budget_mode": g.budget_mode,
        "schedule_type": "SCHEDULE_START_END" if g.schedule_end is not None else "SCHEDULE_FROM_NOW",
        "schedule_start_time": utc_text(g.create_time),
        "schedule_end_time": utc_text(g.schedule_end) if g.schedule_end is not None else None,
        "optimization_goal": g.optimization_goal,
        "billing_event": g.billing_event,
        "bid_type": "BID_TYPE_NO_BID",
        "bid_price": g.bid_price,
        "conversion_bid_price": 0.0,
        "pacing": "PACING_MODE_SMOOTH",
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
        "placements": ["PLACEMENT_TIKTOK", "PLACEMENT_PANGLE"],
        "promotion_type": "WEBSITE",
        "location_ids": ["6252001"],
        "gender": "GENDER_UNLIMITED",
        "age_groups": ["AGE_18_24", "AGE_25_34", "AGE_35_44"],
        "languages": [],
        "is_new_structure": True,
        "create_time": utc_text(g.create_time),
        "modify_time": utc_text(g.modify_time),
    }
    return _pick(full, requested)


def ad(world: World, a: Ad, now: float, requested: list[str] | None) -> dict[str, Any]:
    g = a.adgroup
    c = g.campaign
    full = {
        "advertiser_id": c.advertiser.advertiser_id,
        "campaign_id": c.campaign_id,
        "campaign_name": c.name,
        "adgroup_id": g.adgroup_id,
        "adgroup_name": g.name,
        "ad_id": a.ad_id,
        "ad_name": a.name,
        "operation_status": world.operation_status(a, now),
        "secondary_status": world.secondary_status(a, now),
        "is_aco": False,
        "ad_format": "SINGLE_VIDEO",
        "ad_text": a.ad_text,
        "video_id": f"v10033g5{a.ad_id[-12:]}",
        "image_ids": [],
        "display_name": c.advertiser.name,
        "identity_type": "CUSTOMIZED_USER",
        "identity_id": f"69{c.advertiser.advertiser_id[-6:]}",
        "call_to_action": "SHOP_NOW",
        "landing_page_url": f"https://shop.example.com/?utm_content={a.ad_id}",
        "create_time": utc_text(a.create_time),
        "modify_time": utc_text(a.modify_time),
    }
    return _pick(full, requested)
