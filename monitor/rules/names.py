"""The vocabulary of the ``when`` language: metric names, windows, entity fields, functions and known values.

Data only. The metric names are TikTok's own (report/integrated/get, BASIC report; tiktok-api.md §7.1); the
status values are the documented ones (§4). Values the API may add later are still accepted where the list
cannot be complete (``secondary_status``); a value *close* to a known one is taken for a typo.
"""

from __future__ import annotations

from types import MappingProxyType

from monitor.changes import CHANGED_BY as _CHANGED_BY
from monitor.domain import Level

# The windows and budget modes are the daemon's vocabulary (monitor.domain); the rule language names them too.
from monitor.domain.budget import BUDGET_MODES as BUDGET_MODES
from monitor.domain.windows import DEFAULT_WINDOW as DEFAULT_WINDOW
from monitor.domain.windows import WINDOWS as WINDOWS

NUMBER, STRING, CONDITION = "number", "string", "condition"


#: Every numeric report metric a rule can read (tiktok-api.md §7.1). All numbers; ctr and the *_rate metrics
#: are in percent as TikTok sends them ("1.25" means 1.25 %).
METRICS = frozenset(
    {
        # core
        "spend", "impressions", "clicks", "ctr", "cpc", "cpm", "reach", "frequency", "cost_per_1000_reached",
        "gross_impressions",
        # conversions
        "conversion", "cost_per_conversion", "conversion_rate", "conversion_rate_v2", "real_time_conversion",
        "real_time_cost_per_conversion", "real_time_conversion_rate", "result", "cost_per_result", "result_rate",
        "real_time_result", "real_time_cost_per_result", "real_time_result_rate", "secondary_goal_result",
        "cost_per_secondary_goal_result", "secondary_goal_result_rate", "complete_payment",
        "total_complete_payment_rate", "value_per_complete_payment", "total_purchase_value", "purchase",
        "cost_per_purchase", "app_install", "cost_per_app_install", "real_time_app_install", "registration",
        "sales_lead", "cash_spend", "voucher_spend",
        # video and engagement
        "video_play_actions", "video_watched_2s", "video_watched_6s", "video_views_p25", "video_views_p50",
        "video_views_p75", "video_views_p100", "average_video_play", "likes", "comments", "shares", "follows",
        "profile_visits",
    }
)  # fmt: skip

ALL_LEVELS = frozenset(Level)
_BUDGETED = frozenset({Level.ADVERTISER, Level.CAMPAIGN, Level.ADGROUP})
_CHANGEABLE = frozenset({Level.CAMPAIGN, Level.ADGROUP, Level.AD})

#: Entity fields: name -> (type, levels that have it). ``<level>_id`` of the entity's own level is its id.
FIELDS = MappingProxyType(
    {
        "id": (STRING, ALL_LEVELS),
        "name": (STRING, ALL_LEVELS),
        "level": (STRING, ALL_LEVELS),
        "advertiser_id": (STRING, ALL_LEVELS),
        "campaign_id": (STRING, frozenset({Level.CAMPAIGN, Level.ADGROUP, Level.AD})),
        "adgroup_id": (STRING, frozenset({Level.ADGROUP, Level.AD})),
        "ad_id": (STRING, frozenset({Level.AD})),
        "operation_status": (STRING, ALL_LEVELS),
        "secondary_status": (STRING, ALL_LEVELS),
        "budget": (NUMBER, _BUDGETED),
        "budget_mode": (STRING, _BUDGETED),
        "changed_by": (STRING, _CHANGEABLE),
    }
)
#: ``changed_by``: who changed the entity's status or budget since the previous poll (TikTok's Change Log, read
#: only then; monitor.changes). No data when neither changed or the log does not say. No ``prev.changed_by``.
CHANGED_BY = _CHANGED_BY
#: Fields that hold for one poll only: no prev.x.
ONE_POLL = frozenset({"changed_by"})

#: Values computed from others: name -> (type, levels). ``budget_used``: today's spend / daily budget;
#: ``projected_spend``: today's spend extrapolated to the whole local day (the entity's hourly profile, else
#: linearly: monitor.domain.profile, monitor.rules.pacing); ``pace``:
#: budget_used against the share of the day gone (1.0: on track to spend exactly the daily budget).
DERIVED = MappingProxyType(
    {"budget_used": (NUMBER, _BUDGETED), "projected_spend": (NUMBER, ALL_LEVELS), "pace": (NUMBER, _BUDGETED)}
)
#: Derived values that depend on the time of the poll: no prev.x (the previous poll's time is not kept).
TIMED = frozenset({"projected_spend", "pace"})

#: The advertiser's local time at the poll; ``day_elapsed`` is the fraction of the local day gone (0 to 1).
TIME = MappingProxyType({"hour": NUMBER, "weekday": STRING, "day_elapsed": NUMBER})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: The advertiser (ad account) itself: ``currency`` is its ISO 4217 code from advertiser/info ("USD", "JPY").
ACCOUNT = MappingProxyType({"currency": STRING})

#: Functions: name -> how to call it (for messages).
FUNCTIONS = MappingProxyType(
    {
        "has": "has(x): true when x has data",
        "changed": "changed(x): x differs from the previous poll",
        "delta": "delta(x): x minus its value at the previous poll",
        "abs": "abs(x)",
        "min": "min(a, b, ...)",
        "max": "max(a, b, ...)",
        "baseline": "baseline(x, weeks=4): x on the same weekday up to this hour, the mean over the last weeks",
        "stddev": "stddev(x, weeks=4): the standard deviation of the values baseline(x) averages",
    }
)

#: Words people reach for that are spelt differently here.
ALIASES = MappingProxyType(
    {
        "campaign_name": "name",
        "adgroup_name": "name",
        "ad_name": "name",
        "opt_status": "operation_status",
        "status": "operation_status or secondary_status",
        "conversions": "conversion",
        "cost": "spend",
        "day": "weekday",
    }
)

OPERATION_STATUSES = frozenset({"ENABLE", "DISABLE", "DELETE", "FROZEN"})
_ADVERTISER_WIDE = ("ADVERTISER_CONTRACT_PENDING", "ADVERTISER_ACCOUNT_PUNISH")
SECONDARY_STATUSES = MappingProxyType(
    {
        Level.CAMPAIGN: frozenset(
            {
                "CAMPAIGN_STATUS_ENABLE", "CAMPAIGN_STATUS_DISABLE", "CAMPAIGN_STATUS_AWAITING_RELEASE",
                "CAMPAIGN_STATUS_BUDGET_EXCEED", "CAMPAIGN_STATUS_ADVERTISER_AUDIT",
                "CAMPAIGN_STATUS_ADVERTISER_AUDIT_DENY", "CAMPAIGN_STATUS_IDENTITY_USED_BY_GMV_MAX_AD",
                "CAMPAIGN_STATUS_DELETE", *_ADVERTISER_WIDE,
            }
        ),
        Level.ADGROUP: frozenset(
            {
                "ADGROUP_STATUS_DELIVERY_OK", "ADGROUP_STATUS_PARTIAL_AUDIT_DELIVERY_OK",
                "ADGROUP_STATUS_REVIEW_PARTIALLY_APPROVED", "ADGROUP_STATUS_SHADOW_ADGROUP_REAUDIT",
                "ADGROUP_STATUS_SEARCH_KEYWORDS_PARTIAL_APPROVED", "ADGROUP_STATUS_DISABLE",
                "ADGROUP_STATUS_CAMPAIGN_DISABLE", "ADGROUP_STATUS_BUDGET_EXCEED", "ADGROUP_STATUS_CAMPAIGN_EXCEED",
                "ADGROUP_STATUS_BALANCE_EXCEED", "ADGROUP_STATUS_AUDIT", "ADGROUP_STATUS_REAUDIT",
                "ADGROUP_STATUS_AUDIT_DENY", "ADGROUP_STATUS_PARTIAL_AUDIT_NO_DELIVERY", "ADGROUP_STATUS_CREATE",
                "ADGROUP_STATUS_NOT_START", "ADGROUP_STATUS_TRANSCODING_FAIL", "ADGROUP_STATUS_PIXEL_UNBIND",
                "ADGROUP_STATUS_ASSET_AUTHORIZATION_LOST", "ADGROUP_STATUS_ADGROUP_QUOTA_LIMIT",
                "ADGROUP_STATUS_ADGROUP_PRE_ONLINE", "ADGROUP_STATUS_FROZEN", "ADGROUP_STATUS_LIVE_NOT_START",
                "ADGROUP_STATUS_INDUSTRY_QUALIFICATION_MISSING", "ADGROUP_STATUS_INDUSTRY_QUALIFICATION_EXPIRED",
                "ADGROUP_STATUS_INDUSTRY_QUALIFICATION_DENY", "ADGROUP_STATUS_SEARCH_KEYWORDS_IN_REVIEW",
                "ADGROUP_STATUS_SEARCH_KEYWORDS_NOT_AVAILABLE", "ADGROUP_STATUS_ADVERTISER_AUDIT",
                "ADGROUP_STATUS_ADVERTISER_AUDIT_DENY", "ADGROUP_STATUS_TIME_DONE", "ADGROUP_STATUS_DELETE",
                "ADGROUP_STATUS_CAMPAIGN_DELETE", *_ADVERTISER_WIDE,
            }
        ),
        Level.AD: frozenset(
            {
                "AD_STATUS_DELIVERY_OK", "AD_STATUS_PARTIAL_AUDIT_DELIVERY_OK", "AD_STATUS_REVIEW_PARTIALLY_APPROVED",
                "AD_STATUS_AUDIT", "AD_STATUS_REAUDIT", "AD_STATUS_AUDIT_DENY", "AD_STATUS_PARTIAL_AUDIT_NO_DELIVERY",
                "AD_STATUS_ADGROUP_AUDIT_DENY", "AD_STATUS_ADGROUP_PARTIAL_AUDIT_NO_DELIVERY",
                "AD_STATUS_PROCESS_AUDIO", "AD_STATUS_DISABLE", "AD_STATUS_ADGROUP_DISABLE",
                "AD_STATUS_CAMPAIGN_DISABLE", "AD_STATUS_BUDGET_EXCEED", "AD_STATUS_CAMPAIGN_EXCEED",
                "AD_STATUS_BALANCE_EXCEED", "AD_STATUS_NOT_START", "AD_STATUS_TRANSCODING_FAIL",
                "AD_STATUS_MUSIC_AUTHORIZATION_MISSING", "AD_STATUS_ASSET_AUTHORIZATION_LOST",
                "AD_STATUS_ADGROUP_ASSET_AUTHORIZATION_LOST", "AD_STATUS_PIXEL_UNBIND", "AD_STAUS_PIXEL_UNBIND",
                "AD_STATUS_AD_QUOTA_LIMIT", "AD_STATUS_PRODUCT_UNAVAILABLE", "AD_STATUS_ANCHOR_UNAVAILABLE",
                "AD_STATUS_NO_AUTHORIZATION_OF_SHOWCASE", "AD_STATUS_SHOWCASE_AUTHORIZATION_LOST",
                "AD_STATUS_LIVE_OFFLINE", "AD_STATUS_AD_PRE_ONLINE", "AD_STATUS_DONE", "AD_STATUS_DELETE",
                "AD_STATUS_ADGROUP_DELETE", "AD_STATUS_CAMPAIGN_DELETE", *_ADVERTISER_WIDE,
            }
        ),
    }
)  # fmt: skip
#: How each level's secondary statuses begin (besides the advertiser-wide ones).
STATUS_PREFIX = MappingProxyType(
    {Level.CAMPAIGN: "CAMPAIGN_STATUS_", Level.ADGROUP: "ADGROUP_STATUS_", Level.AD: "AD_STATUS_"}
)
ALL_SECONDARY_STATUSES = frozenset().union(*SECONDARY_STATUSES.values())


def value_names(level: Level | None) -> list[str]:
    """Every name that stands for a value at ``level`` (all levels when None): for "did you mean"."""
    names = [*METRICS, *TIME, *ACCOUNT, *WINDOWS, "prev"]
    names += [n for n, (_, levels) in FIELDS.items() if level is None or level in levels]
    names += [n for n, (_, levels) in DERIVED.items() if level is None or level in levels]
    return names
