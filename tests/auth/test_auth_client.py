"""The client's auth and Business Center methods: exchange_auth_code, business_centers, bc_advertisers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from monitor.sandbox import Fault, Sandbox
from monitor.sandbox.business import AGENCY_BC_ID, PARTNER_BC_ID
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import PermanentApiError
from monitor.tiktok.models import BusinessCenter
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import RetryPolicy, Transport

NY, AKL, HNL, TYO = (f"700000000000000000{i}" for i in range(1, 5))


async def test_exchange_gives_a_masked_token_and_its_advertisers(
    sandbox: Sandbox, make_client: Callable[..., TikTokClient]
) -> None:
    code = sandbox.grants.issue_code([NY, TYO], sandbox.now())
    grant = await make_client(token="").exchange_auth_code(code)
    token = grant.access_token.get_secret_value()
    assert grant.advertiser_ids == (NY, TYO) and grant.scope == (1, 2, 3, 4, 8, 12)
    assert token not in repr(grant) and token not in str(grant)
    assert sandbox.reach(token) == {NY, TYO}


async def test_exchange_can_skip_the_advertiser_list(
    sandbox: Sandbox, make_client: Callable[..., TikTokClient]
) -> None:
    code = sandbox.grants.issue_code([NY], sandbox.now())
    grant = await make_client(token="").exchange_auth_code(code, return_advertiser_ids=False)
    assert grant.advertiser_ids == () and grant.access_token.get_secret_value()


async def test_a_code_quoted_back_by_the_api_is_masked(
    sandbox: Sandbox, make_client: Callable[..., TikTokClient]
) -> None:
    code = sandbox.grants.issue_code([NY], sandbox.now())
    sandbox.faults.add(Fault(kind="api_code", code=40110, message=f"auth_code {code} expired", path=None))
    with pytest.raises(PermanentApiError) as refused:
        await make_client(token="").exchange_auth_code(code)
    assert refused.value.code == 40110 and code not in str(refused.value) and code not in refused.value.message
    assert "auth_code *** expired" in str(refused.value)


async def test_exchange_needs_app_credentials(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    transport = Transport(http, base_url=sandbox.base_url or "", access_token="", limiter=RateLimiter(10))
    with pytest.raises(PermanentApiError, match="app_id and secret"):
        await TikTokClient(transport).exchange_auth_code("code")


@pytest.fixture
async def fake_api() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A tiny API recording each request's headers and body; answers an envelope without access_token."""
    seen: list[dict[str, Any]] = []

    async def token(request: web.Request) -> web.Response:
        seen.append({"headers": dict(request.headers), "body": await request.json()})
        return web.json_response({"code": 0, "message": "OK", "request_id": "r1", "data": {"advertiser_ids": []}})

    app = web.Application()
    app.router.add_post("/open_api/v1.3/oauth2/access_token/", token)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", seen
    finally:
        await runner.cleanup()


async def test_exchange_sends_no_access_token_header_and_needs_a_token_back(
    http: aiohttp.ClientSession, fake_api: tuple[str, list[dict[str, Any]]]
) -> None:
    base_url, seen = fake_api
    transport = Transport(
        http, base_url=base_url, access_token="old-token", limiter=RateLimiter(10), retry=RetryPolicy(max_retries=0)
    )
    client = TikTokClient(transport, app_id="app", secret="shh")
    with pytest.raises(PermanentApiError, match="no access_token"):
        await client.exchange_auth_code("the-code")
    assert "Access-Token" not in seen[0]["headers"]
    assert seen[0]["body"] == {"app_id": "app", "secret": "shh", "auth_code": "the-code"}


async def test_business_centers(make_client: Callable[..., TikTokClient]) -> None:
    centers = await make_client().business_centers()
    assert centers == [
        BusinessCenter(AGENCY_BC_ID, "Northwind Media Agency", "ADMIN", "AGENCY", "ENABLE", "Etc/GMT+5", "USD"),
        BusinessCenter(PARTNER_BC_ID, "Pacific Partners", "STANDARD", "NORMAL", "ENABLE", "Etc/GMT-9", "JPY"),
    ]


async def test_bc_advertisers_reads_every_page(sandbox: Sandbox, make_client: Callable[..., TikTokClient]) -> None:
    assets = await make_client().bc_advertisers(AGENCY_BC_ID, page_size=2)
    assert [(a.id, a.role, a.bc_id) for a in assets] == [
        (NY, "ADMIN", AGENCY_BC_ID),
        (AKL, "OPERATOR", AGENCY_BC_ID),
        (HNL, "OPERATOR", AGENCY_BC_ID),
    ]
    assert assets[0].name == "Acme Outdoor US" and assets[0].status == "STATUS_ENABLE"
    assert [a.path for a in sandbox.arrivals] == ["bc/asset/get/"] * 2


async def test_bc_advertisers_pages_at_50_at_most(sandbox: Sandbox, make_client: Callable[..., TikTokClient]) -> None:
    partner = await make_client().bc_advertisers(PARTNER_BC_ID, page_size=500)
    assert [(a.id, a.role) for a in partner] == [(HNL, "ANALYST"), (TYO, "ANALYST")]
