"""What an endpoint handler receives (:class:`Call`) and may return (:class:`Answer` or a plain ``data`` dict)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from monitor.sandbox.entities import Advertiser
from monitor.sandbox.params import Params, param_error
from monitor.sandbox.world import World

if TYPE_CHECKING:
    from monitor.sandbox.state import SandboxState


@dataclass(slots=True)
class Answer:
    """An envelope with a non-default code (e.g. 20001 partial success) or extra response headers."""

    data: dict[str, Any]
    code: int = 0
    message: str = "OK"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Call:
    sandbox: SandboxState
    request: web.Request
    params: Params
    now: float  # world time, UTC epoch seconds, read once per request
    #: The advertisers the request's token reaches (None: every advertiser, as the configured token).
    reach: frozenset[str] | None = None

    @property
    def world(self) -> World:
        return self.sandbox.world

    def reaches(self, advertiser_id: str) -> bool:
        """The advertiser exists and the token may access it."""
        return self.world.advertiser(advertiser_id) is not None and (self.reach is None or advertiser_id in self.reach)

    def reachable(self) -> list[Advertiser]:
        """Every advertiser the token reaches, in world order."""
        return [a for a in self.world.advertisers.values() if self.reaches(a.advertiser_id)]

    def advertiser(self) -> Advertiser:
        """The ``advertiser_id`` parameter, resolved; unknown ids are a 40002 (see tiktok-api.md §8.2)."""
        advertiser_id = self.params.id("advertiser_id")
        assert advertiser_id is not None
        adv = self.world.advertiser(advertiser_id)
        if adv is None or not self.reaches(advertiser_id):
            raise param_error(
                f"advertiser_id: Advertiser {advertiser_id} does not exist or this access token "
                "has no permission to access it."
            )
        return adv
