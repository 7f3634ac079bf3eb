"""Maintenance's write transaction: :func:`monitor.store.db.writing` with the cyclic collector held off until it
commits (monitor.gctune.collector_held_off), so that no collection pause holds SQLite's write lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.gctune import collector_held_off
from monitor.store.db import writing


@asynccontextmanager
async def holding(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One write transaction of maintenance, committed when the block ends, with no cyclic collection in it."""
    with collector_held_off():
        async with writing(engine) as conn:
            yield conn
