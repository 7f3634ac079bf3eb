"""Narrow edge cases of the wire that the sandbox does not produce, with aioresponses.

Everything the sandbox can do (envelope codes, 5xx, HTML bodies, throttling) is tested over real loopback
in test_client.py; here only what needs a hand-made answer: HTTP 429, timeouts, connection failures,
odd envelopes, and that secrets never reach an exception text.
"""

from __future__ import annotations

import json
import re

import aiohttp
import pytest
from aioresponses import aioresponses

from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import AuthError, PermanentApiError, RateLimitedError, TransientApiError
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import RetryPolicy, Transport, encode_params

BASE = "http://api.test"
TOKEN = "tok-SECRET-123456"
APP_SECRET = "app-SECRET-abcdef"
ANY_CAMPAIGN_GET = re.compile(r"^http://api\.test/open_api/v1\.3/campaign/get/.*$")


@pytest.fixture
async def transport():
    sleeps: list[float] = []
    now = [0.0]  # virtual time: the limiter's pauses pass as soon as they are slept

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    async with aiohttp.ClientSession() as session:
        t = Transport(
            session,
            base_url=BASE,
            access_token=TOKEN,
            limiter=RateLimiter(1000, clock=lambda: now[0], sleep=sleep),
            retry=RetryPolicy(max_retries=2, base_delay=0.1),
            secrets=[APP_SECRET],
            sleep=sleep,
        )
        t.sleeps = sleeps  # type: ignore[attr-defined]
        yield t


def envelope(code: int = 0, data: object = None, message: str = "OK") -> str:
    return json.dumps({"code": code, "message": message, "request_id": "rid-1", "data": data or {}})


def test_encode_params_json_encodes_lists_and_objects_only():
    encoded = encode_params({"advertiser_id": "7", "fields": ["a", "b"], "filtering": {"x": ["1"]}, "page": 2,
                             "query_lifetime": True, "skip": None})  # fmt: skip
    assert encoded == {"advertiser_id": "7", "fields": '["a","b"]', "filtering": '{"x":["1"]}', "page": "2",
                       "query_lifetime": "true"}  # fmt: skip


async def test_http_429_is_rate_limited_and_retried(transport):
    with aioresponses() as mock:
        mock.get(ANY_CAMPAIGN_GET, status=429, body="slow down")
        mock.get(ANY_CAMPAIGN_GET, body=envelope(data={"list": []}))
        response = await transport.request("GET", "campaign/get/", params={"advertiser_id": "1"})
    assert response.request_id == "rid-1"
    assert transport.limiter.throttles == 1


async def test_timeouts_are_transient_and_give_up_after_max_retries(transport):
    with aioresponses() as mock:
        mock.get(ANY_CAMPAIGN_GET, exception=TimeoutError(), repeat=True)
        with pytest.raises(TransientApiError, match="no answer within the timeout"):
            await transport.request("GET", "campaign/get/")
    assert transport.calls == 3  # first try + 2 retries
    assert len(transport.sleeps) == 2
    assert transport.sleeps[1] > transport.sleeps[0] * 0.99  # backs off


async def test_connection_error_text_never_holds_secrets(transport):
    failure = aiohttp.ClientConnectionError(f"cannot reach {BASE}/x?secret={APP_SECRET}&token={TOKEN}")
    with aioresponses() as mock:
        mock.get(re.compile(r".*oauth2/advertiser/get/.*"), exception=failure, repeat=True)
        client = TikTokClient(transport, app_id="app", secret=APP_SECRET)
        with pytest.raises(TransientApiError) as info:
            await client.advertisers()
    assert APP_SECRET not in str(info.value)
    assert TOKEN not in str(info.value)
    assert "ClientConnectionError" in str(info.value)


async def test_echoed_token_in_api_message_is_redacted(transport):
    with aioresponses() as mock:
        mock.get(ANY_CAMPAIGN_GET, body=envelope(40105, message=f"token {TOKEN} is invalid"))
        with pytest.raises(AuthError) as info:
            await transport.request("GET", "campaign/get/")
    assert TOKEN not in str(info.value)
    assert "re-authorize" in str(info.value)
    assert transport.calls == 1  # auth errors are never retried


@pytest.mark.parametrize("body", ["[1, 2]", '{"message": "no code"}', '{"code": "x"}'])
async def test_malformed_envelopes_are_transient(transport, body):
    with aioresponses() as mock:
        mock.get(ANY_CAMPAIGN_GET, body=body, repeat=True)
        with pytest.raises(TransientApiError):
            await transport.request("GET", "campaign/get/")


async def test_http_404_is_permanent_and_hints_at_base_url(transport):
    with aioresponses() as mock:
        mock.get(ANY_CAMPAIGN_GET, status=404, body="page not found")
        with pytest.raises(PermanentApiError, match=r"HTTP 404 \(check tiktok.base_url\)"):
            await transport.request("GET", "campaign/get/")
    assert transport.calls == 1


async def test_advertiser_rate_limit_keeps_scope(transport):
    with aioresponses() as mock:
        mock.get(ANY_CAMPAIGN_GET, body=envelope(40133, message="advertiser qps 5/5"), repeat=True)
        with pytest.raises(RateLimitedError) as info:
            await transport.request("GET", "campaign/get/", advertiser_id="42")
    assert info.value.scope == "advertiser"
    assert info.value.advertiser_id == "42"
    assert info.value.request_id == "rid-1"


async def test_partial_success_code_is_accepted(transport):
    with aioresponses() as mock:
        mock.post(re.compile(r".*adgroup/status/update/.*"),
                  body=envelope(20001, data={"error_list": [{"adgroup_id": "9", "error_message": "R&F"}]}))  # fmt: skip
        client = TikTokClient(transport)
        from monitor.domain import Level

        result = await client.update_status(Level.ADGROUP, "1", ["8", "9"], "DISABLE")
    assert result.succeeded == ("8",)
    assert result.failures[0].ids == ("9",)
    assert result.failures[0].message == "R&F"


async def test_a_redirect_is_permanent_and_names_where_it_went(transport):
    with aioresponses() as mock:
        mock.get(ANY_CAMPAIGN_GET, status=301, headers={"Location": "https://business-api.tiktok.com/x?secret=1"})
        with pytest.raises(PermanentApiError, match=r"redirected to https://business-api.tiktok.com/x \(check"):
            await transport.request("GET", "campaign/get/")
    assert transport.calls == 1
