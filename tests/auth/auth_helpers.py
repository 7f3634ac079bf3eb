"""Helpers for the auth tests (a uniquely named module: test directories have no __init__)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import aiohttp


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced (None removes one)."""
    query = query_of(url)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(urlsplit(url)._replace(query=urlencode(query)))


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
