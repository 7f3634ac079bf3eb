"""Many rows in one statement, without SQLAlchemy's work per row (issue 18), handed over in bounded slices.

A warm poll of a 100,000-ad advertiser writes tens of thousands of ``entities`` and history rows, its first poll
100,000s. Handed to SQLAlchemy as a list of dicts, each row costs several microseconds of parameter processing
before the driver sees it; here the statement is compiled once and the rows go to the driver as the tuples they
were built as:

* :func:`executing` runs a statement once per row with the driver's ``executemany`` (SQLite, and PostgreSQL
  through asyncpg or psycopg), still through SQLAlchemy's connection (its transaction, its events): one
  ``executemany`` per slice of rows handed to it.
* :func:`inserting` (inserts and upserts): on PostgreSQL through asyncpg each slice is COPYed into a temporary
  table and one INSERT ... SELECT takes them all from there when the block ends (the server's bulk load, several
  times cheaper than an execution per row); elsewhere :func:`executing`.
* :func:`counting`: :func:`executing` that says how many rows the statements changed (an UPDATE's).
* :func:`execute_many` and :func:`insert_many`: the same for rows that are at hand whole, as one slice.

Slices let a caller build the rows of one slice, hand them over and let them go before building the next, so a
poll of 100,000s of rows never holds them all at once (the rows' texts are most of a large poll's memory at its
peak; :data:`SLICE_ROWS`).

The values must be what the driver takes as they are (strings, numbers, booleans, None, dates on PostgreSQL): the
columns written this way have no type that converts values.

A value the same in every row (a poll's id) can be given once, as a *constant*: an integer constant is written into
the statement as a literal, so each row is one value shorter and need not be built with it (for 100,000 rows that
is 100,000 tuples fewer); on PostgreSQL's COPY they are parameters of the INSERT ... SELECT, not COPYed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from operator import itemgetter
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["SLICE_ROWS", "Add", "Count", "counting", "execute_many", "executing", "insert_many", "inserting"]

Row = tuple[Any, ...]
#: Hands one slice of rows to the statement (see :func:`executing`, :func:`inserting`).
Add = Callable[[Sequence[Row]], Awaitable[None]]
#: The same, and the number of rows the statements changed (see :func:`counting`).
Count = Callable[[Sequence[Row]], Awaitable[int]]

#: Rows a writer builds and hands over at a time (a few MB of a poll's rows and their texts).
SLICE_ROWS = 5000


@asynccontextmanager
async def executing(
    conn: AsyncConnection,
    statement: sa.ClauseElement,
    columns: Sequence[str],
    constants: Mapping[str, Any] | None = None,
) -> AsyncIterator[Add]:
    """Gives ``add``: ``await add(rows)`` runs ``statement`` once for each of ``rows`` (tuples of the bound
    parameters named ``columns``, in that order) in one ``executemany``; compiled once for the connection's
    dialect (and kept for the next block with the same statement object: :data:`_COMPILED`), when the first rows
    come. ``constants``: values of further columns, the same for every row (of an INSERT, or set by an UPDATE);
    integers become literals of the statement, others a parameter added to each row (an INSERT's only)."""
    run = _runner(conn, statement, columns, constants)

    async def add(rows: Sequence[Row]) -> None:
        await run(rows)

    yield add


@asynccontextmanager
async def counting(
    conn: AsyncConnection,
    statement: sa.ClauseElement,
    columns: Sequence[str],
    constants: Mapping[str, int] | None = None,
) -> AsyncIterator[Count]:
    """:func:`executing` that gives ``count``: ``await count(rows)`` is the number of rows the statements changed,
    as the driver counts them (SQLite's module: the sum over the rows; 0 for no rows)."""
    yield _runner(conn, statement, columns, constants)


def _runner(
    conn: AsyncConnection,
    statement: sa.ClauseElement,
    columns: Sequence[str],
    constants: Mapping[str, Any] | None,
) -> Count:
    """What :func:`executing` and :func:`counting` give: runs the statement for each of the rows it is handed in
    one ``executemany``, and says how many rows the driver counted."""
    literal: dict[str, int] = {}
    rest: tuple[Any, ...] = ()
    if constants:
        literal = {name: value for name, value in constants.items() if type(value) is int}
        if len(literal) < len(constants):
            rest = tuple(value for name, value in constants.items() if name not in literal)
            columns = (*columns, *(name for name in constants if name not in literal))
    found: tuple[str, list[int] | None] | None = None  # the statement's text and the rows' order, once rows come

    async def run(rows: Sequence[Row]) -> int:
        nonlocal found
        if not rows:
            return 0
        if found is None:
            text, order = _compiled(conn.dialect, statement, tuple(columns), tuple(literal))
            for name, value in literal.items():
                text = text.replace(_marker(name), str(value))
            found = (text, order)
        text, order = found
        if rest:
            rows = [(*row, *rest) for row in rows]
        params: Sequence[Any]
        if order is None:
            params = [dict(zip(columns, row, strict=True)) for row in rows]
        else:
            params = rows if order == list(range(len(columns))) else _reordered(rows, order)
        result = await conn.exec_driver_sql(text, params)
        return int(result.rowcount)

    return run


#: Compiled statements (text, and the rows' order for a positional one, None for named parameters) by statement,
#: dialect, columns and the names of the constants written as literals: a poll's statements are the same objects
#: poll after poll (built once per process by their modules), so each is compiled once, not at every poll (a
#: compile is about a millisecond, a poll of a small advertiser writes with a few). Bounded, should a caller
#: build a new statement each time.
_COMPILED: dict[tuple[Any, ...], tuple[str, list[int] | None]] = {}
_COMPILED_MAX = 64


def _compiled(
    dialect: sa.Dialect, statement: sa.ClauseElement, columns: tuple[str, ...], literal: tuple[str, ...]
) -> tuple[str, list[int] | None]:
    """``statement`` compiled for ``dialect`` with ``columns`` bound and a marker (:func:`_marker`) for each
    constant in ``literal``, as a literal of the statement (an INSERT's column or an UPDATE's SET); cached."""
    key = (statement, dialect.name, dialect.driver, columns, literal)
    found = _COMPILED.get(key)
    if found is not None:
        return found
    if literal:
        values: dict[str, Any] = {name: sa.literal_column(_marker(name)) for name in literal}
        if isinstance(statement, sa.Insert):
            # inline: no RETURNING of a key column given as SQL (SQLAlchemy fetches those otherwise)
            statement = statement.inline().values(values)
        else:
            statement = cast(sa.Update, statement).values(values)
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(columns))
    order = [columns.index(name) for name in compiled.positiontup or ()] if compiled.positional else None
    found = (compiled.string, order)
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[key] = found
    return found


def _marker(name: str) -> str:
    """What stands for the constant ``name`` in a cached statement's text until a runner writes its value."""
    return f"__bulk_constant_{name}__"


async def execute_many(
    conn: AsyncConnection,
    statement: sa.ClauseElement,
    columns: Sequence[str],
    rows: Sequence[Row],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Run ``statement`` once for each of ``rows`` in one ``executemany`` (see :func:`executing`)."""
    async with executing(conn, statement, columns, constants) as add:
        await add(rows)


def _reordered(rows: Sequence[Row], order: list[int]) -> list[Row]:
    """Each row's values in ``order`` (indexes into the row), taken in C (one ``itemgetter`` call per row)."""
    if len(order) == 1:
        (only,) = order
        return [(row[only],) for row in rows]
    return list(map(itemgetter(*order), rows))


@asynccontextmanager
async def inserting(
    conn: AsyncConnection,
    insert: sa.Insert,
    columns: Sequence[str],
    constants: Mapping[str, Any] | None = None,
) -> AsyncIterator[Add]:
    """Gives ``add``: ``await add(rows)`` inserts ``rows`` (tuples in ``columns`` order) with ``insert`` (an
    INSERT of one table, an upsert too); ``constants``: values of further columns, the same for every row (see
    :func:`executing`).

    On PostgreSQL through asyncpg each slice of rows is COPYed into a temporary table with the target's columns
    (one per table and session, emptied at commit) and, when the block ends without an error, ``insert`` takes
    them all, and the constants, from there in one INSERT ... SELECT: the server's bulk load instead of one
    execution per row, and still a statement of SQLAlchemy's (its transaction, its events); a block that raises
    leaves the slices COPYed so far in the temporary table until its transaction ends (roll it back). Elsewhere
    each slice is one ``executemany`` (:func:`executing`)."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "asyncpg":
        async with executing(conn, insert, columns, constants) as add:
            yield add
        return
    target = insert.table.name
    staging = f"bulk_{target}"
    quote = conn.dialect.identifier_preparer.quote
    copied = False
    driver: Any = None

    async def copy(rows: Sequence[Row]) -> None:
        nonlocal copied, driver
        if not rows:
            return
        if driver is None:
            # the target's columns without their NOT NULL (LIKE would copy those): the constants are not COPYed.
            # (Made once per connection; on a partitioned history it plans a scan of every partition, and locks
            # each until commit as dropping a partition locks the parent anyway: harmless.)
            create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote(staging)} ON COMMIT DELETE ROWS AS SELECT * FROM "  # noqa: S608
            await conn.exec_driver_sql(f"{create}{quote(target)} WITH NO DATA")
            driver = (await conn.get_raw_connection()).driver_connection
        await driver.copy_records_to_table(staging, records=rows, columns=list(columns))
        copied = True

    yield copy
    if not copied:
        return
    constant = constants or {}
    table: Any = insert.table
    given = [sa.literal(value, table.c[name].type).label(name) for name, value in constant.items()]  # parameters
    source: Any = sa.select(*(sa.column(name) for name in columns), *given).select_from(sa.table(staging))
    await conn.execute(insert.from_select([*columns, *constant], source))
    await conn.exec_driver_sql(f"TRUNCATE {quote(staging)}")  # a second batch of the same table in this transaction


async def insert_many(
    conn: AsyncConnection,
    insert: sa.Insert,
    columns: Sequence[str],
    rows: Sequence[Row],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) with ``insert`` as one slice (see :func:`inserting`)."""
    async with inserting(conn, insert, columns, constants) as add:
        await add(rows)
