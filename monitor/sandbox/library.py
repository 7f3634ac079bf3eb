"""An advertiser's asset library, generated from its world: what Airbyte's ``source-tiktok-marketing`` reads
beside the entities and reports (the endpoints are :mod:`monitor.sandbox.api_library` and
:mod:`monitor.sandbox.api_pixels`).

Field names and JSON types are those of the connector's schemas (4.7.0, ``manifest.yaml`` ``schemas``); the
SDK (1.1.3) documents the requests but no answer, so enumerated values (``audience_type``, ``sources``, the
pixel's event types ...) are the sandbox's own plausible choices, not TikTok's documented lists. Deterministic:
the same world gives the same library.

* videos: one per ad, ``video_id`` the ad's ``video_id`` on ad/get, created with the ad;
* images: one per campaign (its cover), created with the campaign;
* music: two tracks per advertiser; portfolios: one call-to-action portfolio per advertiser;
* custom audiences: three per advertiser (a customer file, an engagement audience, a lookalike);
* Spark Ads posts: one authorized TikTok post per campaign;
* pixels: one per advertiser, whose Complete Payment event counts the advertiser's conversions.
"""

from __future__ import annotations

import hashlib
from typing import Any

from monitor.sandbox.entities import Ad, Advertiser, Campaign
from monitor.sandbox.localtime import utc_text

CDN = "https://p16-sandbox.tiktokcdn.example"


def _sig(*parts: str) -> str:
    return hashlib.md5("/".join(parts).encode()).hexdigest()  # noqa: S324 - a file signature, not security


def video_id(ad: Ad) -> str:
    """The ad's video (the same id ad/get answers in ``video_id``)."""
    return f"v10033g5{ad.ad_id[-12:]}"


def video(ad: Ad, now: float) -> dict[str, Any]:
    vid = video_id(ad)
    name = ad.name if ad.name.endswith(".mp4") else f"{ad.name}.mp4"
    return {
        "video_id": vid,
        "video_cover_url": f"{CDN}/cover/{vid}.jpeg",
        "format": "mp4",
        "preview_url": f"{CDN}/preview/{vid}.mp4",
        "preview_url_expire_time": utc_text(now + 6 * 3600),
        "duration": 15.0,
        "height": 1280,
        "width": 720,
        "bit_rate": 2_500_000.0,
        "signature": _sig("video", vid),
        "size": 4_700_000 + int(ad.ad_id[-4:]),
        "material_id": f"72{ad.ad_id[-17:]}",
        "allowed_placements": ["PLACEMENT_TIKTOK", "PLACEMENT_PANGLE"],
        "allow_download": True,
        "file_name": name,
        "create_time": utc_text(ad.create_time),
        "modify_time": utc_text(ad.create_time),
        "displayable": True,
    }


def image(c: Campaign) -> dict[str, Any]:
    image_id = f"ad-site-i18n-sg/{c.campaign_id}"
    return {
        "image_id": image_id,
        "format": "jpeg",
        "image_url": f"{CDN}/image/{c.campaign_id}.jpeg",
        "height": 1280,
        "width": 720,
        "signature": _sig("image", image_id),
        "size": 180_000 + int(c.campaign_id[-4:]),
        "material_id": f"73{c.campaign_id[-17:]}",
        "is_carousel_usable": True,
        "file_name": f"cover_{c.campaign_id[-8:]}.jpg",
        "create_time": utc_text(c.create_time),
        "modify_time": utc_text(c.create_time),
        "displayable": True,
    }


def music(adv: Advertiser) -> list[dict[str, Any]]:
    out = []
    for n, (name, style) in enumerate((("Morning Run", "Pop"), ("Late Night Drive", "Electronic")), start=1):
        music_id = f"74{adv.advertiser_id[-8:]}{n:09d}"
        out.append(
            {
                "music_id": music_id,
                "material_id": f"75{adv.advertiser_id[-8:]}{n:09d}",
                "sources": ["CUSTOM"],
                "author": adv.name,
                "liked": False,
                "cover_url": f"{CDN}/music/{music_id}.jpeg",
                "url": f"{CDN}/music/{music_id}.mp3",
                "duration": 30.0 * n,
                "style": style,
                "signature": _sig("music", music_id),
                "name": name,
                "file_name": f"{name.lower().replace(' ', '_')}.mp3",
                "copyright": "NORMAL",
                "create_time": utc_text(adv.create_time),
                "modify_time": utc_text(adv.create_time),
            }
        )
    return out


def portfolios(adv: Advertiser) -> list[dict[str, Any]]:
    pid = f"76{adv.advertiser_id[-8:]}{1:09d}"
    return [
        {
            "creative_portfolio_id": pid,
            "creative_portfolio_type": "CTA",
            "creative_portfolio_preview_url": f"{CDN}/portfolio/{pid}.png",
        }
    ]


def audiences(adv: Advertiser) -> list[dict[str, Any]]:
    kinds: tuple[tuple[str, str, str | None], ...] = (
        ("Customer list", "CUSTOMER_FILE", "MULTIPLE_TYPES"),
        ("Video viewers 30d", "ENGAGEMENT", None),
        ("Lookalike of customers", "LOOKALIKE", None),
    )
    return [
        {
            "audience_id": f"77{adv.advertiser_id[-8:]}{n:09d}",
            "name": f"{adv.name} {name}",
            "audience_type": kind,
            "calculate_type": calc,
            "cover_num": 12_000 * n,
            "create_time": utc_text(adv.create_time),
            "expired_time": utc_text(adv.create_time + 365 * 86_400 * 2),
            "is_valid": True,
            "is_expiring": False,
            "shared": False,
            "is_creator": True,
        }
        for n, (name, kind, calc) in enumerate(kinds, start=1)
    ]


def spark_post(c: Campaign) -> dict[str, Any]:
    adv = c.advertiser
    item_id = f"73{c.campaign_id[-17:]}"
    return {
        "user_info": {
            "tiktok_name": f"{adv.name.lower().replace(' ', '')}",
            "identity_id": f"69{adv.advertiser_id[-6:]}",
            "identity_type": "AUTH_CODE",
        },
        "item_info": {
            "item_id": item_id,
            "item_type": "VIDEO",
            "text": f"{c.name} #ad",
            "status": "STATUS_ACTIVE",
            "auth_code": f"#{_sig('auth', item_id)[:24]}",
            "anchor_list": [],
            "carousel_info": None,
        },
        "auth_info": {
            "ad_auth_status": "AUTHORIZED",
            "invite_start_time": utc_text(c.create_time),
            "auth_start_time": utc_text(c.create_time),
            "auth_end_time": utc_text(c.create_time + 365 * 86_400),
        },
        "video_info": {
            "duration": 15.0,
            "preview_url": f"{CDN}/spark/{item_id}.mp4",
            "bit_rate": 2_500_000,
            "height": 1280,
            "width": 720,
            "signature": _sig("spark", item_id),
            "size": 5_100_000,
            "poster_url": f"{CDN}/spark/{item_id}.jpeg",
        },
    }


def pixel_id(adv: Advertiser) -> str:
    return f"78{adv.advertiser_id[-8:]}{1:09d}"


#: The pixel's events: (name, event_type, event_code). Only Complete Payment: the world's conversions are
#: purchases (its ``complete_payment`` metric equals ``conversion``), and it models no other event.
PIXEL_EVENTS = (("Complete Payment", "COMPLETE_PAYMENT", "CompletePayment"),)


def pixel(adv: Advertiser) -> dict[str, Any]:
    pid = pixel_id(adv)
    code = "C" + _sig("pixel", pid)[:19].upper()
    return {
        "pixel_id": pid,
        "pixel_code": code,
        "pixel_name": f"{adv.name} pixel",
        "pixel_category": "THIRD_PARTY",
        "pixel_script": f"<script>ttq.load('{code}'); ttq.page();</script>",
        "create_time": utc_text(adv.create_time),
        "pixel_setup_mode": "MANUAL",
        "partner_name": "",
        "advanced_matching_fields": {"phone_number": False, "email": True},
        "asset_ownership": {"asset_relation_status": "OWNER", "ownership_status": True, "owner_bc_id": ""},
        "events": [
            {
                "name": name,
                "event_type": event_type,
                "event_code": event_code,
                "event_id": f"79{adv.advertiser_id[-8:]}{n:09d}",
                "optimization_event": event_type,
                "custom_event_type": event_type,
                "statistic_type": "EVERY_TIME",
                "currency_value": "",
                "currency": False,
                "deprecated": False,
                "rules": [],
            }
            for n, (name, event_type, event_code) in enumerate(PIXEL_EVENTS, start=1)
        ],
    }
