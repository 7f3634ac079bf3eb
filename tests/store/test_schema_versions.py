"""The schema version read without alembic (issue 18: opening a database at head does not load it) says what
alembic says: the head revision of the migration scripts, and the revisions a database is stamped with."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from monitor.store.db import create_engine
from monitor.store.migrate import VERSIONS, alembic_config, current_revisions, head_revision, scripts_head, upgrade

from .conftest import Database


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    alembic_head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert scripts_head(VERSIONS) == alembic_head
    assert head_revision() == alembic_head


def script(folder: Path, name: str, revision: str, down: str) -> None:
    (folder / f"{name}.py").write_text(f'"""{name}"""\n\nrevision = "{revision}"\ndown_revision = {down}\n')


def test_scripts_that_do_not_read_as_one_chain_give_no_head(tmp_path: Path) -> None:
    script(tmp_path, "0001_a", "0001", "None")
    script(tmp_path, "0002_b", "0002", '"0001"')
    assert scripts_head(tmp_path) == "0002"
    script(tmp_path, "0003_c", "0003", '"0001"')  # a fork: two heads
    assert scripts_head(tmp_path) is None
    script(tmp_path, "0004_merge", "0004", '("0002", "0003")')  # merged again
    assert scripts_head(tmp_path) == "0004"
    script(tmp_path, "0005_d", "0005", '"0009"')  # revises a revision no script has
    assert scripts_head(tmp_path) is None
    (tmp_path / "0005_d.py").write_text('revision = REVISION\ndown_revision = "0004"\n')  # not the plain form
    assert scripts_head(tmp_path) is None


async def alembic_heads(database: Database) -> tuple[str, ...]:
    engine = create_engine(database.url, schema=database.schema)
    try:
        async with engine.connect() as conn:
            return tuple(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))
    finally:
        await engine.dispose()


async def test_the_revisions_read_with_plain_sql_are_alembics(database: Database) -> None:
    engine = create_engine(database.url, schema=database.schema)
    try:
        if database.schema:
            async with engine.begin() as conn:
                await conn.execute(sa.text(f'CREATE SCHEMA "{database.schema}"'))
        assert await current_revisions(engine) == await alembic_heads(database) == ()  # a new database
        await upgrade(engine, schema=database.schema, revision="0002")
        assert await current_revisions(engine) == await alembic_heads(database) == ("0002",)
        await upgrade(engine, schema=database.schema)
        assert await current_revisions(engine) == await alembic_heads(database) == (head_revision(),)
        assert await upgrade(engine, schema=database.schema) == (head_revision(),)  # at head: nothing to do
    finally:
        await engine.dispose()
