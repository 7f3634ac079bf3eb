"""`once --dry-run` end to end against the sandbox, the local Slack Web API and a real database (SQLite and
PostgreSQL): it prints what would fire, each action after the guards and each message, and writes nothing
anywhere: the sandbox's write log, Slack and every table (and, for SQLite, the file's bytes and mtime) are the
same before and after; a database that does not exist yet is neither created nor migrated."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.once import run_once
from monitor.preview.dryrun import run_preview
from monitor.store.db import create_engine, normalize_url
from monitor.store.errors import StoreError
from monitor.store.repo import Store

ADVERTISER = "7000000000000000001"  # the sandbox advertiser the preview tests configure (conftest)

NOTIFY = '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["slack"]\n'
PAUSE = '[[rule]]\nname = "overspend"\nlevel = "campaign"\nwhen = "spend > 400"\nnotify = ["slack"]\naction = "pause"\n'
WRITE_PATHS = ("campaign/status/update/", "campaign/update/", "adgroup/status/update/", "ad/status/update/")
OVERSPENDING = ["1801100000000000001", "1801100000000000002"]  # the sandbox's campaigns with spend > 400


async def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted (read without the monitor's store)."""
    if url.startswith("sqlite"):
        path = sa.make_url(url).database
        # immutable: no lock, no -wal/-shm files made (the file is at rest: every writer has closed it)
        with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            select = 'SELECT * FROM "{}"'  # the table names come from sqlite_master
            return {name: sorted(map(tuple, conn.execute(select.format(name))), key=repr) for name in names}
    engine = create_async_engine(normalize_url(url))
    try:
        async with engine.connect() as conn:

            def read(sync: sa.Connection) -> dict[str, list[tuple[Any, ...]]]:
                meta = sa.MetaData()
                meta.reflect(sync)
                return {t.name: sorted(map(tuple, sync.execute(sa.select(t))), key=repr) for t in meta.sorted_tables}

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def files(url: str) -> dict[str, tuple[str, int]]:
    """SQLite: every file of the database's directory, with a hash of its bytes and its mtime (PostgreSQL: none)."""
    if not url.startswith("sqlite"):
        return {}
    directory = Path(str(sa.make_url(url).database)).parent
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in directory.iterdir()
        if p.is_file()
    }


def world(sandbox: Any, now: float) -> tuple[int, list[str]]:
    """The sandbox's write log (write requests received) and its campaigns' statuses."""
    writes = sum(1 for a in sandbox.arrivals if a.path in WRITE_PATHS)
    return writes, [sandbox.world.operation_status(sandbox.world.find(c), now) for c in OVERSPENDING]


async def test_dry_run_says_what_would_happen_and_writes_nothing_anywhere(
    configure, database_url, sandbox, slack, clock
):
    assert await run_once(configure({"notify": NOTIFY}), out=io.StringIO(), clock=clock) == 0
    assert len(slack.delivered) == 1  # the real cycle sent its message
    settings = configure({"notify": NOTIFY, "pause": PAUSE})  # a new rule with an action
    clock.advance(300)
    before = (files(database_url), await dump(database_url), world(sandbox, clock.now().timestamp()))
    posted = len(slack.requests)

    out = io.StringIO()
    assert await run_preview(settings, out=out, clock=clock) == 0
    text = out.getvalue()

    assert text.startswith("DRY RUN: nothing was written")
    assert f"advertiser {ADVERTISER} Acme Outdoor US" in text
    for campaign in OVERSPENDING:
        assert f"alert: firing overspend campaign {campaign}" in text
        assert (
            f"action: pause campaign {campaign} (rule overspend): would write: operation_status ENABLE -> DISABLE"
            in text
        )
    assert "message -> slack:" in text and "Firing: overspend" in text
    assert "spending" not in text.split("message -> slack:")[1]  # still firing, in its cooldown: no message
    assert files(database_url) == before[0]
    assert await dump(database_url) == before[1]
    assert world(sandbox, clock.now().timestamp()) == before[2]
    assert len(slack.requests) == posted
    assert any(a.path == "campaign/get/" for a in sandbox.arrivals)  # it did read the API

    # and the preview told the truth: the real cycle does what it said
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    assert world(sandbox, clock.now().timestamp()) == (1, ["DISABLE", "DISABLE"])  # one request pauses both


async def test_dry_run_on_a_database_that_does_not_exist_yet_neither_creates_nor_migrates_it(
    configure, database_url, sandbox, slack, clock
):
    settings = configure({"pause": PAUSE})
    before = await dump(database_url) if not database_url.startswith("sqlite") else None
    out = io.StringIO()
    assert await run_preview(settings, out=out, clock=clock) == 0
    text = out.getvalue()
    assert "does not exist yet: previewed as if empty" in text or "has no tables yet: previewed as if empty" in text
    assert "would write: operation_status ENABLE -> DISABLE" in text  # a first poll: the rule fires at once
    if database_url.startswith("sqlite"):
        assert set(files(database_url)) == {"config.toml"}  # no database file, no -wal, no -shm
    else:
        assert before == {} and await dump(database_url) == {}  # no table, not even alembic_version
    assert slack.requests == [] and world(sandbox, clock.now().timestamp())[0] == 0


async def test_the_read_only_engine_refuses_writes_in_the_database(configure, database_url, sandbox, clock):
    assert await run_once(configure({"notify": NOTIFY}), out=io.StringIO(), clock=clock) == 0
    engine = create_engine(database_url, read_only=True)
    try:
        async with engine.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError, match=r"read-only|readonly"):
                await conn.execute(sa.text("DELETE FROM outbox"))
    finally:
        await engine.dispose()


def test_a_read_only_open_of_a_missing_sqlite_file_creates_nothing(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        create_engine(f"sqlite:///{tmp_path / 'none.db'}", read_only=True)
    assert list(tmp_path.iterdir()) == []


async def test_debug_logging_has_one_line_per_rule_per_poll(configure, sandbox, slack, clock, caplog):
    settings = configure({"notify": NOTIFY, "pause": PAUSE.replace('action = "pause"\n', 'for = "15m"\n')})
    with caplog.at_level(logging.DEBUG, logger="monitor.pipeline"):
        assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    debug = [r.getMessage() for r in caplog.records if r.name == "monitor.pipeline" and r.levelno == logging.DEBUG]
    lines = [line for line in debug if ": rule " in line]  # the per-rule lines (the stage timings are another)
    assert len(debug) == len(lines) + 1 and "stage seconds" in debug[-1]
    assert lines == [
        f"advertiser {ADVERTISER}: rule spending (campaign): 3 evaluated, 2 true, 1 no data; 2 firing, 0 pending",
        f"advertiser {ADVERTISER}: rule overspend (campaign): 3 evaluated, 2 true, 1 no data; 0 firing, 2 pending",
    ]


async def test_a_preview_beside_a_running_poll_takes_no_lease_and_does_not_wait(
    configure, database_url, sandbox, slack, clock
):
    settings = configure({"notify": NOTIFY})
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    store = await Store.open(database_url, clock=clock, owner="run-elsewhere")
    try:
        async with store.poll(ADVERTISER, clock.now()):  # `run` is polling the advertiser: it holds the lease
            out = io.StringIO()
            assert await asyncio.wait_for(run_preview(settings, out=out, clock=clock), timeout=30) == 0
            assert f"advertiser {ADVERTISER} Acme Outdoor US: 3 entities" in out.getvalue()
    finally:
        await store.close()
