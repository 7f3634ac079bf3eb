"""Advertiser authorization in the sandbox: auth codes the portal hands out and the tokens exchanged for them.

An auth code is single use and valid for one hour of world time (tiktok-api.md §2.1). Every exchanged token
is accepted by every endpoint like the configured token, but reaches only the advertisers it was granted.
Codes and tokens are derived from the app id and a counter, so a sandbox replays identically.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

CODE_TTL = 3600.0  # seconds of world time


@dataclass(slots=True)
class _Code:
    advertiser_ids: tuple[str, ...]
    issued_at: float
    used: bool = False


class Grants:
    """Auth codes and issued tokens. ``seed`` (the app id) makes the values differ between apps."""

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._count = 0
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, frozenset[str]] = {}
        self._revoked: set[str] = set()

    def _next(self, kind: str, length: int) -> str:
        self._count += 1
        return hashlib.sha256(f"{self._seed}:{kind}:{self._count}".encode()).hexdigest()[:length]

    def issue_code(self, advertiser_ids: Iterable[str], now: float) -> str:
        """A fresh auth code granting ``advertiser_ids``, valid for :data:`CODE_TTL` seconds from ``now``."""
        code = self._next("code", 32)
        self._codes[code] = _Code(tuple(dict.fromkeys(advertiser_ids)), now)
        return code

    def redeem(self, code: str, now: float) -> tuple[str, tuple[str, ...]] | None:
        """Exchange ``code`` for (token, advertiser ids); None if the code is unknown, used or expired.
        A failed attempt does not spend the code; a successful one does."""
        grant = self._codes.get(code)
        if grant is None or grant.used or not grant.issued_at <= now < grant.issued_at + CODE_TTL:
            return None
        grant.used = True
        return self.issue_token(grant.advertiser_ids), grant.advertiser_ids

    def issue_token(self, advertiser_ids: Iterable[str]) -> str:
        """A new long-term token reaching exactly ``advertiser_ids``."""
        token = self._next("token", 40)
        self._tokens[token] = frozenset(advertiser_ids)
        return token

    def reach(self, token: str) -> frozenset[str] | None:
        """The advertisers an issued token reaches; None if it was never issued or is revoked."""
        return None if token in self._revoked else self._tokens.get(token)

    def revoke(self, token: str) -> None:
        self._revoked.add(token)
