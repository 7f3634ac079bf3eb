"""A database of a test's own, on each backend: a SQLite file, or a new PostgreSQL database dropped afterwards.

Use as the params of a fixture (``DATABASES``) and :func:`own_database` in its body. In CI (``CI`` set) a missing
PostgreSQL server is a failure, never a skip (as in tests/store/conftest.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.store.db import normalize_url

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
SKIP_POSTGRES = not POSTGRES_URL and not os.environ.get("CI")

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[pytest.mark.postgres, pytest.mark.skipif(SKIP_POSTGRES, reason="TEST_POSTGRES_URL not set")],
    ),
]


@asynccontextmanager
async def own_database(kind: str, tmp_path: Path, prefix: str, filename: str = "monitor.db") -> AsyncIterator[str]:
    """The URL of a database not created yet: ``tmp_path/filename`` for ``sqlite``, or a new, empty PostgreSQL
    database named ``prefix_<random>`` for ``postgres`` (dropped, connections and all, when the block ends)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / filename}"
        return
    if not POSTGRES_URL:
        pytest.fail("CI is set but TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL and export it")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.make_url(normalize_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
