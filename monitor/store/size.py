"""How big the database is, and how much room its disk has left (``/metrics``, ``/healthz``).

* SQLite: the database file and its write-ahead log, and the free space of the file system they are on
  (``shutil.disk_usage`` of the file's directory).
* PostgreSQL: ``pg_database_size`` of the current database. The server's free disk is not visible to a client,
  so it is unknown (``free_bytes`` None): watch the server's disk where it runs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.db import reading


@dataclass(frozen=True)
class StorageSize:
    """One measurement: the database's ``bytes`` on disk and the ``free_bytes`` of its disk (None: unknown)."""

    backend: str  # "sqlite" or "postgresql"
    bytes: int
    free_bytes: int | None


async def measure(engine: AsyncEngine) -> StorageSize:
    """The database's size and its disk's free space now (a stat and a statvfs; one query on PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            return StorageSize("sqlite", 0, None)
        return await asyncio.to_thread(_sqlite_size, Path(database))
    async with reading(engine) as conn:
        size = (await conn.execute(sa.text("SELECT pg_database_size(current_database())"))).scalar_one()
    return StorageSize(engine.dialect.name, int(size), None)


def _sqlite_size(database: Path) -> StorageSize:
    total = 0
    for path in (database, Path(f"{database}-wal")):
        try:
            total += os.path.getsize(path)
        except FileNotFoundError:
            continue
    return StorageSize("sqlite", total, shutil.disk_usage(database.parent).free)
