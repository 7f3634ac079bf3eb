"""Links to an entity in TikTok Ads Manager, built by us from ids (never from API-supplied text).

TikTok documents no deep-link format, so these are best effort: they open the advertiser's campaign, ad group
or ad list in Ads Manager, filtered by the entity's id as a search keyword::

    advertiser  https://ads.tiktok.com/i18n/dashboard?aadvid=ADVERTISER_ID
    campaign    https://ads.tiktok.com/i18n/perf/campaign?aadvid=ADVERTISER_ID&keyword=CAMPAIGN_ID
    ad group    https://ads.tiktok.com/i18n/perf/adgroup?aadvid=ADVERTISER_ID&keyword=ADGROUP_ID
    ad          https://ads.tiktok.com/i18n/perf/creative?aadvid=ADVERTISER_ID&keyword=AD_ID

Ids are URL-encoded, so no id can smuggle text into a Slack or HTML link.
"""

from __future__ import annotations

from urllib.parse import urlencode

from monitor.domain import Level

ADS_MANAGER = "https://ads.tiktok.com"
_PAGES = {Level.CAMPAIGN: "campaign", Level.ADGROUP: "adgroup", Level.AD: "creative"}


def ads_manager_url(level: Level | str, advertiser_id: str, entity_id: str, *, base: str = ADS_MANAGER) -> str:
    """The Ads Manager page of one entity (see the module docstring for the pattern)."""
    level = Level(level)
    base = base.rstrip("/")
    if level is Level.ADVERTISER:
        return f"{base}/i18n/dashboard?{urlencode({'aadvid': advertiser_id})}"
    return f"{base}/i18n/perf/{_PAGES[level]}?{urlencode({'aadvid': advertiser_id, 'keyword': entity_id})}"
