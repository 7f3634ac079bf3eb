"""Many rows in one statement, without SQLAlchemy's work per row (issue 18).

A warm poll of a 100,000-ad advertiser writes tens of thousands of ``entities`` and history rows. Handed to
SQLAlchemy as a list of dicts, each row costs several microseconds of parameter processing before the driver sees
it; here the statement is compiled once and the rows go to the driver as the tuples they were built as:

:func:`execute_many` runs a statement once per row with the driver's ``executemany`` (SQLite, and PostgreSQL
through asyncpg or psycopg), still through SQLAlchemy's connection (its transaction, its events). The values must
be what the driver takes as they are (strings, numbers, booleans, None, dates on PostgreSQL): the columns written
this way have no type that converts values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["execute_many"]

Row = tuple[Any, ...]


async def execute_many(
    conn: AsyncConnection, statement: sa.ClauseElement, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    """Run ``statement`` once for each of ``rows`` (tuples of the bound parameters named ``columns``, in that
    order), compiled once for the connection's dialect."""
    if not rows:
        return
    compiled: Any = statement.compile(dialect=conn.dialect, column_keys=list(columns))  # a SQLCompiler
    params: Sequence[Any]
    if compiled.positional:
        order = [columns.index(name) for name in compiled.positiontup or ()]
        params = rows if order == list(range(len(columns))) else [tuple(row[i] for i in order) for row in rows]
    else:
        params = [dict(zip(columns, row, strict=True)) for row in rows]
    await conn.exec_driver_sql(compiled.string, params)
