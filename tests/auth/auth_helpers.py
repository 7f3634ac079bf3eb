"""Helpers for the auth tests (a uniquely named module: test directories have no __init__)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit


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
