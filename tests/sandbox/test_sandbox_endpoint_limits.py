"""Per-endpoint limits: report/task/create/ takes 2 requests a second (60 a minute) and answers 40016 past that,
while the app's budget is far from spent; other endpoints are not affected."""

from __future__ import annotations

from sandbox_http import NY, Api

from monitor.sandbox import Sandbox
from monitor.sandbox.endpoint_limits import EndpointLimits

BODY = {
    "advertiser_id": NY,
    "report_type": "BASIC",
    "data_level": "AUCTION_CAMPAIGN",
    "dimensions": ["campaign_id"],
    "metrics": ["spend"],
    "query_lifetime": True,
}


async def test_the_third_task_in_a_second_gets_40016_and_other_endpoints_go_on(api: Api, sandbox: Sandbox) -> None:
    codes = [(await api.post("report/task/create/", BODY)).code for _ in range(3)]
    assert codes == [0, 0, 40016]
    refused = await api.post("report/task/create/", BODY)
    assert refused.code == 40016 and "report/task/create/" in refused.body["message"]
    assert (await api.get("campaign/get/", advertiser_id=NY)).code == 0
    assert [a.code for a in sandbox.arrivals[-3:]] == [40016, 40016, 0]


def test_the_windows_slide_per_second_and_per_minute() -> None:
    now = [0.0]
    limits = EndpointLimits({"x/": (2, 3)}, monotonic=lambda: now[0])

    def try_acquire(path: str) -> bool:  # as the server does: check, then count what is let through
        if not limits.allows(path):
            return False
        limits.acquire(path)
        return True

    assert [try_acquire("x/") for _ in range(3)] == [True, True, False]
    now[0] = 1.5
    assert [try_acquire("x/") for _ in range(2)] == [True, False]  # 3 a minute
    now[0] = 61.0
    assert try_acquire("x/") and try_acquire("other/")
