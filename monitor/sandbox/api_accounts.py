"""oauth2/advertiser/get/ and advertiser/info/ (tiktok-api.md §2.2, §2.3), limited to what the token reaches.

``advertiser/info/`` answers 40002 naming the ids when any requested advertiser does not exist or is not
reachable with the token (Airbyte treats 40002 as "not accessible"; §8.2), rather than silently omitting them.
"""

from __future__ import annotations

from typing import Any

from monitor.sandbox import render
from monitor.sandbox.call import Call
from monitor.sandbox.params import ApiFailure, checked_strings, param_error

INVALID_APP = 40101
MAX_ADVERTISER_IDS = 100


async def oauth2_advertiser_get(call: Call) -> dict[str, Any]:
    p = call.params
    app_id, secret = p.string("app_id", required=True), p.string("secret", required=True)
    settings = call.sandbox.settings
    if app_id != settings.app_id or secret != settings.secret:
        raise ApiFailure(INVALID_APP, "Invalid app_id or secret: the app credentials do not match.")
    return {"list": [{"advertiser_id": a.advertiser_id, "advertiser_name": a.name} for a in call.reachable()]}


async def advertiser_info(call: Call) -> dict[str, Any]:
    p = call.params
    raw = p.structured("advertiser_ids", list, required=True)
    ids = checked_strings("advertiser_ids", raw, max_len=MAX_ADVERTISER_IDS, ids=True)
    if not ids:
        raise param_error("advertiser_ids: Length must be between 1 and 100.")
    fields = render.check_fields(p.string_list("fields"), render.ADVERTISER_FIELDS)
    missing = [i for i in ids if not call.reaches(i)]
    if missing:
        raise param_error(
            f"advertiser_ids: No permission to access advertiser(s) {', '.join(missing)}, or they do not exist."
        )
    advertisers = [call.world.advertisers[i] for i in dict.fromkeys(ids)]
    return {"list": [render.advertiser(a, fields) for a in advertisers]}
