"""The Change Log task flow (``changelog/task/{create,check,download}/``) through TikTok's official Python SDK
(1.1.3), which has no method for any of the three: they go through its ``ApiClient.call_api`` (sdk_world.raw),
i.e. the SDK's serialization of the body and query, its envelope parsing and its error for a non-zero code. The
requests are the ones :func:`monitor.tiktok.changelog.read_change_log` sends."""

from __future__ import annotations

from typing import Any

import business_api_client as sdk
import pytest
from business_api_client import models
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError
from sdk_world import NY, TOKEN, ok, raw

from monitor.sandbox import Sandbox


@pytest.mark.endpoints("changelog/task/create/", "changelog/task/check/", "changelog/task/download/")
def test_change_log_task_lists_a_status_write_made_through_the_sdk(api_client: Any, sandbox: Sandbox) -> None:
    c = sandbox.world.advertisers[NY].campaigns[0]
    ok(
        sdk.CampaignCreationApi(api_client).campaign_status_update(
            TOKEN, body=models.CampaignStatusUpdateBody(NY, [c.campaign_id], "DISABLE")
        )
    )
    body = {
        "advertiser_id": NY,
        "start_time": "2026-11-24 00:00:00",
        "end_time": "2026-11-24 23:59:59",
        "timezone": "America/New_York",
        "module": ["STATUS", "BUDGET"],
        "object_type": "CAMPAIGN",
    }
    task_id = ok(raw(api_client, "POST", "changelog/task/create/", body=body))["task_id"]
    query = [("advertiser_id", NY), ("task_id", task_id)]
    with pytest.raises(TiktokSDKError) as early:  # not ready before a check says SUCCESS
        raw(api_client, "GET", "changelog/task/download/", query_params=query)
    assert "Error Code: 40201" in str(early.value)
    statuses = [ok(raw(api_client, "GET", "changelog/task/check/", query_params=query))["status"] for _ in range(2)]
    assert statuses == ["PROCESSING", "SUCCESS"]
    data = ok(raw(api_client, "GET", "changelog/task/download/", query_params=query))
    assert data["total_count"] == 1
    [row] = data["list"]
    assert (row["object_type"], row["object_id"], row["object_name"]) == ("CAMPAIGN", c.campaign_id, c.name)
    assert (row["module"], row["source"], row["app_id"]) == ("STATUS", "Marketing API", sandbox.settings.app_id)
    assert row["activity_details"] == [{"field": "operation_status", "before": "ENABLE", "after": "DISABLE"}]
    assert row["operate_time"] == "2026-11-24 16:30:00"  # the write's time, in the task's time zone
