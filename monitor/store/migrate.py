"""Schema versions: which revision a database is at, the newest this code knows, and upgrading to it.

Opening a database that is already at the newest revision (every open but the first after an upgrade of the
monitor) does not load alembic (issue 18: alembic, mako and pygments were a tenth of a 100,000-ad ``once``):
:func:`head_revision` reads the revision ids from the migration files themselves (``revision = "..."`` and
``down_revision = ...``; tests check it equals alembic's head), and :func:`current_revisions` reads the
``alembic_version`` table with plain SQL, as alembic does. Alembic is imported only when there is something to
migrate, or to judge (a revision this code does not know), and to run the migrations.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store.db import is_transient, short_error, translate_errors, writing
from monitor.store.errors import MigrationError, SchemaVersionError, StoreUnavailableError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

#: The migration scripts (alembic's ``versions`` directory of ``monitor.store:migrations``).
VERSIONS = Path(__file__).parent / "migrations" / "versions"
#: PostgreSQL advisory lock key that serializes schema upgrades of replicas starting together ("tiktokmo").
_UPGRADE_LOCK = 0x74696B746F6B6D6F
_REVISION = re.compile(r"^revision(?:\s*:[^=\n]*)?\s*=\s*(['\"])([^'\"\n]+)\1\s*$", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=\n]*)?\s*=\s*(.*)$", re.M)
_QUOTED = re.compile(r"(['\"])([^'\"\n]+)\1")


def alembic_config() -> Config:
    """The migrations shipped in this package, configured without an alembic.ini (imports alembic)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "monitor.store:migrations")
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest revision this code knows: from the migration files (see the module docstring), or alembic's
    own answer when they do not read as one chain."""
    return scripts_head(VERSIONS) or _alembic_head()


def scripts_head(versions: Path) -> str | None:
    """The one revision of the scripts in ``versions`` that no other revises; None when a script does not say its
    ``revision`` and ``down_revision`` in the plain form, or when there is not exactly one such revision."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in versions.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(text), _DOWN_REVISION.findall(text)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0][1])
        revised.update(quoted for _, quoted in _QUOTED.findall(down[0]))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 and revised <= revisions else None


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revisions(engine: AsyncEngine) -> tuple[str, ...]:
    """The revisions the database is stamped with (its ``alembic_version`` rows); empty for a new database."""
    async with translate_errors(), engine.connect() as conn:
        heads = await conn.run_sync(_stamped)
        await conn.rollback()
    return heads


def _stamped(connection: sa.Connection) -> tuple[str, ...]:
    """What alembic's ``MigrationContext.get_current_heads`` reads, without alembic."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return ()
    return tuple(row[0] for row in connection.execute(sa.text("SELECT version_num FROM alembic_version")))


async def upgrade(engine: AsyncEngine, *, schema: str | None = None, revision: str = "head") -> tuple[str, ...]:
    """Bring the database to ``revision`` (default: the newest this code knows); returns the revisions it had.

    A database already at ``revision`` is left as it is, without loading alembic. A database stamped with a
    revision this code does not know (a newer monitor wrote it) is refused with :class:`SchemaVersionError`
    before anything is touched. The upgrade runs in one transaction (both backends have transactional DDL); on
    SQLite a copy of an existing database is written next to it first (``<file>.before-<revision>``), and foreign
    keys are checked before the commit.
    """
    head = head_revision()
    if schema and engine.dialect.name == "postgresql":
        async with writing(engine) as conn:
            quoted = engine.dialect.identifier_preparer.quote(schema)
            await conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
    found = await current_revisions(engine)
    target = head if revision == "head" else revision
    if found == (target,):
        return found
    _refuse_unknown(found, head)
    if found and engine.dialect.name == "sqlite":
        await _backup_sqlite(engine, found[0])
    if not found and engine.dialect.name == "sqlite":
        await _incremental_vacuum_mode(engine)
    try:
        async with engine.connect() as conn:
            await _run_upgrade(engine, conn, revision)
    except MigrationError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise StoreUnavailableError(f"database unavailable during schema upgrade: {short_error(exc)}") from exc
        raise MigrationError(
            f"schema upgrade from {', '.join(found) or 'an empty database'} to {target} failed and was rolled "
            f"back: {short_error(exc)}"
        ) from exc
    if found:
        log.info("store schema upgraded", extra={"from_revision": found, "to_revision": target})
    else:
        log.info("store created", extra={"to_revision": target})
    return found


def _refuse_unknown(found: tuple[str, ...], head: str) -> None:
    """:class:`SchemaVersionError` when the database is stamped with a revision this code's scripts lack."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(alembic_config())
    for rev in found:
        try:
            known = script.get_revision(rev)
        except CommandError:
            known = None
        if known is None:
            raise SchemaVersionError(found, head)


async def _incremental_vacuum_mode(engine: AsyncEngine) -> None:
    """A new SQLite database returns freed pages in steps (monitor.store.maintain): the mode can only be set
    before its first table."""
    async with translate_errors(), engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None  # None only once the connection is closed
        tables = await (await raw.execute("SELECT count(*) FROM sqlite_master")).fetchone()
        if tables is not None and tables[0] == 0:
            await raw.execute("PRAGMA auto_vacuum=INCREMENTAL")
            await raw.execute("VACUUM")  # the file's first page exists (WAL mode): the mode takes effect now


async def _run_upgrade(engine: AsyncEngine, conn: AsyncConnection, revision: str) -> None:
    sqlite = engine.dialect.name == "sqlite"
    raw = (await conn.get_raw_connection()).driver_connection if sqlite else None
    if raw is not None:
        # Rebuilding a table (SQLite batch mode) with foreign keys on would cascade or fail; they are off during
        # the upgrade and verified before it commits. The pragma only works outside a transaction.
        await raw.execute("PRAGMA foreign_keys=OFF")
    try:
        await conn.execution_options(store_write=True)
        async with conn.begin():
            if not sqlite:
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
            await conn.run_sync(_alembic_upgrade, revision)
            if sqlite:
                broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).fetchall()
                if broken:
                    raise MigrationError(f"schema upgrade would break foreign keys: {broken[:5]}")
    finally:
        if raw is not None:
            await raw.execute("PRAGMA foreign_keys=ON")


def _alembic_upgrade(connection: sa.Connection, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def _backup_sqlite(engine: AsyncEngine, revision: str) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    target = await asyncio.to_thread(_free_path, f"{database}.before-{revision}")
    async with translate_errors(), engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None  # None only once the connection is closed
        await raw.execute("VACUUM INTO ?", (str(target),))  # a consistent copy, WAL included
    log.info("store backed up before schema upgrade", extra={"backup": str(target)})
    return target


def _free_path(base: str) -> Path:
    target, n = Path(base), 1
    while target.exists():
        n += 1
        target = Path(f"{base}.{n}")
    return target
