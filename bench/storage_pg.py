"""``bench/storage.py --url postgresql://...``: a schema of the bench's own, and what its tables weigh.

Sizes are ``pg_total_relation_size`` (table, indexes, TOAST) of every table in the schema, a partitioned table's
partitions summed under its name (monitor.store.partitions), read after a ``CHECKPOINT``-free ``ANALYZE`` so the
row counts are current.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.store.db import normalize_url

SIZES = (
    "SELECT coalesce(p.relname, c.relname), sum(pg_total_relation_size(c.oid)) FROM pg_class c "
    "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent "
    "WHERE c.relkind = 'r' AND c.relnamespace = CAST(current_schema() AS regnamespace) GROUP BY 1"
)


def schema_name() -> str:
    return f"bench_storage_{os.getpid()}"


async def create_schema(url: str, schema: str) -> None:
    engine = create_async_engine(normalize_url(url))
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()


async def drop_schema(url: str, schema: str) -> None:
    engine = create_async_engine(normalize_url(url))
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


async def table_bytes(engine: AsyncEngine) -> tuple[int, dict[str, int]]:
    """The schema's bytes, and each table's (partitions summed under their table)."""
    async with engine.connect() as conn:
        tables = {name: int(n) for name, n in await conn.execute(sa.text(SIZES))}
        await conn.rollback()
    return sum(tables.values()), tables


async def history_rows(engine: AsyncEngine) -> str:
    """Rows of the history tables and their bytes on disk each (indexes included), and the partitions."""
    out = []
    async with engine.connect() as conn:
        _, tables = await table_bytes(engine)
        for table in ("history_metrics", "history_states"):
            rows = (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608
            parts = (
                await conn.execute(
                    sa.text("SELECT count(*) FROM pg_inherits WHERE inhparent = CAST(:t AS regclass)"), {"t": table}
                )
            ).scalar_one()
            per = tables.get(table, 0) / rows if rows else 0
            out.append(f"{table}: {rows:,} rows in {parts} partitions, {per:,.0f} bytes per row on disk")
        await conn.rollback()
    return "; ".join(out)
