"""The objects a preview (``once --dry-run``, ``explain``) works with, built by :func:`monitor.wiring.open_preview`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from monitor.accounts import Roster
from monitor.notify.templates import Templates
from monitor.preview.readonly import PreviewStore, ReadOnly
from monitor.tiktok.client import TikTokClient


@dataclass
class PreviewParts:
    """The read-only database (``note``: what stands in for it, "" when it is the configured one), the clients
    (this process's rate limiter only), who polls which advertiser, the templates and the configured channel
    names. Always :meth:`close`."""

    readonly: ReadOnly
    session: aiohttp.ClientSession
    clients: Mapping[str, TikTokClient]
    roster: Roster
    templates: Templates
    channel_names: tuple[str, ...]

    @property
    def store(self) -> PreviewStore:
        return self.readonly.store

    @property
    def note(self) -> str:
        return self.readonly.note

    def api_calls(self) -> int:
        """API calls made so far with every token."""
        return sum(client.transport.calls for client in self.clients.values())

    async def close(self) -> None:
        await self.session.close()
        await self.readonly.close()
