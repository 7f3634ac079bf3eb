"""Fixtures for the auth tests: a sandbox that does not throttle, and a "browser" that follows redirects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from monitor.sandbox import SandboxSettings
from monitor.tiktok.client import TikTokClient


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(qps=1000, campaigns_per_advertiser=2, adgroups_per_campaign=1, ads_per_adgroup=1)


@pytest.fixture
def app_client(make_client: Callable[..., TikTokClient]) -> Callable[[], TikTokClient]:
    """What ``auth login`` uses: a client with the app's credentials and no access token yet."""
    return lambda: make_client(token="")


@dataclass
class Browser:
    """Stands in for the advertiser's browser: GETs the portal URL, reads the 302, follows it (optionally
    after ``tamper`` rewrote the redirect URL), and keeps what it saw."""

    session: aiohttp.ClientSession
    tamper: Callable[[str], str] | None = None
    redirect: str | None = None
    pages: list[tuple[int, str]] = field(default_factory=list)

    async def open(self, url: str) -> None:
        async with self.session.get(url, allow_redirects=False) as portal:
            assert portal.status == 302, await portal.text()
            self.redirect = portal.headers["Location"]
        target = self.tamper(self.redirect) if self.tamper else self.redirect
        async with self.session.get(target, allow_redirects=False) as callback:
            self.pages.append((callback.status, await callback.text()))

    def __call__(self, url: str) -> Any:
        return self.open(url)


@pytest.fixture
def browser(http: aiohttp.ClientSession) -> Browser:
    return Browser(http)
