"""The Subscription API (tiktok-api.md §9.1): ``subscription/subscribe/``, ``subscription/get/`` and
``subscription/unsubscribe/``, with app credentials (``app_id``, ``secret``) instead of an ``Access-Token`` header:
in the JSON body of the POSTs, in the query of the GET.

Only ``subscribe_entity`` REPORT_DATA_CHANGE is simulated (others: 40002). ``subscription_detail`` needs the
``access_token`` of the advertisers it names (unknown or revoked: 40105; an advertiser it does not reach: 40002)
and a ``notify_frequency`` of 5_MINUTE, 15_MINUTE, 30_MINUTE or 60_MINUTE (default 5_MINUTE). The notices
themselves: :mod:`monitor.sandbox.subscriptions`.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from monitor.sandbox.api_oauth import INVALID_APP
from monitor.sandbox.call import Call
from monitor.sandbox.params import ApiFailure, checked_strings, page_info, param_error
from monitor.sandbox.subscriptions import DEFAULT_FREQUENCY, FREQUENCIES, REPORT_DATA_CHANGE, utc_day_values

TOKEN_INVALID = 40105
MAX_ADVERTISERS = 100


def _app(call: Call) -> None:
    p = call.params
    app_id, secret = p.string("app_id", required=True), p.string("secret", required=True)
    settings = call.sandbox.settings
    if app_id != settings.app_id or secret != settings.secret:
        raise ApiFailure(INVALID_APP, "Invalid app_id or secret: the app credentials do not match.")


async def subscribe(call: Call) -> dict[str, Any]:
    _app(call)
    p = call.params
    entity = p.string("subscribe_entity", required=True)
    if entity != REPORT_DATA_CHANGE:
        raise param_error(f"subscribe_entity: the sandbox simulates {REPORT_DATA_CHANGE} only.")
    url = p.string("callback_url", required=True) or ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise param_error("callback_url: Not a valid URL.")
    detail = p.structured("subscription_detail", dict, required=True)
    token = detail.get("access_token")
    reach = call.sandbox.reach(token) if isinstance(token, str) and token else None
    if reach is None:
        raise ApiFailure(TOKEN_INVALID, "subscription_detail.access_token is incorrect or has been revoked.")
    ids = checked_strings(
        "subscription_detail.advertiser_ids", detail.get("advertiser_ids"), max_len=MAX_ADVERTISERS, ids=True
    )
    if not ids:
        raise param_error("subscription_detail.advertiser_ids: Length must be between 1 and 100; got 0.")
    for advertiser_id in ids:
        if call.world.advertiser(advertiser_id) is None or advertiser_id not in reach:
            raise param_error(
                f"subscription_detail.advertiser_ids: Advertiser {advertiser_id} does not exist or the access "
                "token has no permission to access it."
            )
    frequency = detail.get("notify_frequency", DEFAULT_FREQUENCY)
    if frequency not in FREQUENCIES:
        raise param_error(f"subscription_detail.notify_frequency: Must be one of: {', '.join(FREQUENCIES)}.")
    sandbox, now, wanted = call.sandbox, call.now, tuple(dict.fromkeys(ids))
    # what a change is measured from: the advertisers' values when the subscription is made
    advertisers = [sandbox.world.advertisers[a] for a in wanted]
    readings = await sandbox.offload(lambda: {a.advertiser_id: utc_day_values(sandbox, a, now) for a in advertisers})
    sub = sandbox.subscriptions.add(url, wanted, frequency, str(token))
    for advertiser_id, values in readings.items():
        sandbox.subscriptions.last[(sub.subscription_id, advertiser_id)] = (-math.inf, values)
    return {"subscription_id": sub.subscription_id}


async def get(call: Call) -> dict[str, Any]:
    _app(call)
    page = call.params.integer("page", default=1, low=1, high=10_000)
    page_size = call.params.integer("page_size", default=10, low=1, high=1000)
    items = sorted(call.sandbox.subscriptions.items.values(), key=lambda s: int(s.subscription_id))
    shown = items[(page - 1) * page_size : page * page_size]
    return {"list": [s.as_json() for s in shown], "page_info": page_info(len(items), page, page_size)}


async def unsubscribe(call: Call) -> dict[str, Any]:
    _app(call)
    subscription_id = call.params.id("subscription_id")
    assert subscription_id is not None
    if not call.sandbox.subscriptions.remove(subscription_id):
        raise param_error(f"subscription_id: Subscription {subscription_id} does not exist.")
    return {"subscription_id": subscription_id}
