"""Fixtures shared by the whole suite: a real sandbox API on loopback and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import aiohttp
import pytest

from monitor.clock import FrozenClock
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import RetryPolicy, Transport

#: A fixed instant: 20:00 UTC is already "tomorrow" in Auckland and still morning in Honolulu.
T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
SANDBOX_TOKEN = "sandbox-token"
SANDBOX_APP_ID = "4242424242"
SANDBOX_SECRET = "sandbox-secret"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(campaigns_per_advertiser=3, adgroups_per_campaign=2, ads_per_adgroup=4)


@pytest.fixture
async def sandbox(sandbox_settings: SandboxSettings, clock: FrozenClock) -> AsyncIterator[Sandbox]:
    sb = Sandbox(sandbox_settings, clock=clock)
    async with sb.serve(host="127.0.0.1", port=0) as base_url:
        sb.base_url = base_url  # type: ignore[attr-defined]
        yield sb


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def make_client(sandbox: Sandbox, http: aiohttp.ClientSession) -> Callable[..., TikTokClient]:
    """Build a client for the sandbox; keyword arguments override the defaults of a fast test client."""

    def make(
        *,
        token: str = SANDBOX_TOKEN,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 5.0,
        secret: str = SANDBOX_SECRET,
    ) -> TikTokClient:
        transport = Transport(
            http,
            base_url=sandbox.base_url,  # type: ignore[attr-defined]
            access_token=token,
            limiter=limiter or RateLimiter(10),
            retry=retry or RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05),
            timeout=timeout,
            secrets=[secret],
        )
        return TikTokClient(transport, app_id=SANDBOX_APP_ID, secret=secret)

    return make
