"""What the token may do on each advertiser, from Business Center roles (bc/asset/get ``advertiser_role``).

Pure: gets the reachable advertisers and the BC assets, returns a role per advertiser. ANALYST may read
only, so the monitor must take no write actions there (:attr:`Role.can_write`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Protocol

from monitor.tiktok.models import BcAdvertiser


class Role(enum.StrEnum):
    ADMIN = "ADMIN"
    OPERATOR = "OPERATOR"
    ANALYST = "ANALYST"
    #: In no Business Center the token's user sees: the token holds what the advertiser granted when it
    #: authorized the app (``auth login``), which includes managing ads.
    DIRECT = "DIRECT"

    @property
    def can_write(self) -> bool:
        """Pause, enable and budget changes are allowed (everything but ANALYST)."""
        return self is not Role.ANALYST


_RANK: Mapping[Role, int] = {Role.ANALYST: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


def parse_role(value: str | None) -> Role:
    """A BC ``advertiser_role`` as a :class:`Role`. Unknown values (a role TikTok adds later) count as
    ANALYST: the least privilege, so an unknown role never leads to writes."""
    try:
        role = Role((value or "").upper())
    except ValueError:
        return Role.ANALYST
    return Role.ANALYST if role is Role.DIRECT else role


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


def roles(advertisers: Iterable[str | _HasId], bc_assets: Iterable[BcAdvertiser]) -> dict[str, Role]:
    """Each advertiser's role, keyed by id, in the order given. ``advertisers`` are ids or objects with an
    ``id`` (AdvertiserRef, AdvertiserInfo). An advertiser listed in several BCs gets its strongest role
    (ADMIN > OPERATOR > ANALYST): the user can act through whichever BC grants the most. One in no BC is
    :attr:`Role.DIRECT`. BC assets the token does not reach are ignored."""
    best: dict[str, Role] = {}
    for asset in bc_assets:
        role = parse_role(asset.role)
        held = best.get(asset.id)
        if held is None or _RANK[role] > _RANK[held]:
            best[asset.id] = role
    out: dict[str, Role] = {}
    for advertiser in advertisers:
        advertiser_id = advertiser if isinstance(advertiser, str) else str(advertiser.id)
        out[advertiser_id] = best.get(advertiser_id, Role.DIRECT)
    return out
