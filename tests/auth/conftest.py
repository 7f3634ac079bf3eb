"""Fixtures for the auth tests: a sandbox that does not throttle, and a "browser" that follows redirects."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest
from auth_helpers import Browser

from monitor.sandbox import SandboxSettings
from monitor.tiktok.client import TikTokClient


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(qps=1000, campaigns_per_advertiser=2, adgroups_per_campaign=1, ads_per_adgroup=1)


@pytest.fixture
def app_client(make_client: Callable[..., TikTokClient]) -> Callable[[], TikTokClient]:
    """What ``auth login`` uses: a client with the app's credentials and no access token yet."""
    return lambda: make_client(token="")


@pytest.fixture
def browser(http: aiohttp.ClientSession) -> Browser:
    return Browser(http)
