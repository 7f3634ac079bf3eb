"""The Subscription API the monitor uses for REPORT_DATA_CHANGE (``subscription/subscribe/`` and
``subscription/get/``, monitor.tiktok.client_subscriptions) through TikTok's official Python SDK (1.1.3), which has
no method for either: they go through its ``ApiClient.call_api`` (sdk_world.raw), i.e. the SDK's serialization of
the body and query, its envelope parsing and its error for a non-zero code. Both take the app's credentials in the
request, not the Access-Token header."""

from __future__ import annotations

from typing import Any

import pytest
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError
from sdk_world import NY, TOKEN, ok, raw

from monitor.sandbox import Sandbox

CALLBACK = "https://hooks.example.com/tiktok/report-data-change"


@pytest.mark.endpoints("subscription/subscribe/", "subscription/get/")
def test_a_report_data_change_subscription_is_made_and_listed(api_client: Any, sandbox: Sandbox) -> None:
    app = {"app_id": sandbox.settings.app_id, "secret": sandbox.settings.secret}
    body = {
        **app,
        "subscribe_entity": "REPORT_DATA_CHANGE",
        "callback_url": CALLBACK,
        "subscription_detail": {"access_token": TOKEN, "advertiser_ids": [NY], "notify_frequency": "5_MINUTE"},
    }
    subscription_id = ok(raw(api_client, "POST", "subscription/subscribe/", body=body))["subscription_id"]
    assert str(subscription_id).isdigit()

    query = [("app_id", app["app_id"]), ("secret", app["secret"]), ("page", 1), ("page_size", 10)]
    listed = ok(raw(api_client, "GET", "subscription/get/", query_params=query))
    [found] = listed["list"]
    assert str(found["subscription_id"]) == str(subscription_id)
    assert found["subscribe_entity"] == "REPORT_DATA_CHANGE" and found["callback_url"] == CALLBACK
    assert found["subscription_detail"]["advertiser_ids"] == [NY]
    assert listed["page_info"]["total_number"] == 1

    with pytest.raises(TiktokSDKError):  # the wrong secret: refused, nothing listed to a stranger
        raw(api_client, "GET", "subscription/get/", query_params=[("app_id", app["app_id"]), ("secret", "nope")])
