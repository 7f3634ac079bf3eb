"""Store fixtures: every test runs against a real SQLite file and, when TEST_POSTGRES_URL is set, a real
PostgreSQL server (each test in a schema of its own, dropped afterwards); and ``make_poller``, the advertiser
poller of the tests of the poll deadline, over a store and with the deadline they give it."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.clock import FrozenClock
from monitor.config_notify import NotifySettings
from monitor.domain import EntityState, Level, Snapshot
from monitor.notify.ops import OpsPolicy
from monitor.notify.problems import ProblemBook
from monitor.ops_alerts import OpsAlerts
from monitor.pipeline import Pipeline
from monitor.poller import AdvertiserPoller
from monitor.rules.loader import load_rules
from monitor.store import Store
from monitor.store.db import normalize_url, reading
from monitor.store.snapshots import load_current
from monitor.tiktok.client import TikTokClient

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
NO_POSTGRES = "TEST_POSTGRES_URL not set (CI starts PostgreSQL)"
#: In CI a missing server is a failure, not a skip: the PostgreSQL half of the suite must run there.
SKIP_POSTGRES = not POSTGRES_URL and not os.environ.get("CI")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[pytest.mark.postgres, pytest.mark.skipif(SKIP_POSTGRES, reason=NO_POSTGRES)],
    ),
]
T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
ADV = "7000000000000000001"
#: The rule of ``make_poller``'s polls: it fires on the sandbox's campaigns, so a poll stores alerts and messages.
SPENDING_RULE = '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["slack"]\n'
#: What the ``make_poller`` fixture is: ``make_poller(store, poll_timeout)`` -> the poller.
MakePoller = Callable[[Store, timedelta], AdvertiserPoller]


@dataclass(frozen=True)
class Database:
    """Where a test's store lives: ``url`` plus, on PostgreSQL, a schema of its own."""

    backend: str
    url: str
    schema: str | None = None

    async def open(self, clock: FrozenClock | None = None, **kw: Any) -> Store:
        return await Store.open(self.url, schema=self.schema, clock=clock or FrozenClock(T0), owner="test", **kw)


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'monitor.db'}")
        return
    if not POSTGRES_URL:
        pytest.fail("CI is set but TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL and export it")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    yield Database("postgres", POSTGRES_URL, schema)
    engine = create_async_engine(normalize_url(POSTGRES_URL))
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
async def store(database: Database, clock: FrozenClock) -> AsyncIterator[Store]:
    opened = await database.open(clock)
    yield opened
    await opened.close()


@pytest.fixture
def make_poller(tmp_path: Path, make_client: Callable[..., TikTokClient], clock: FrozenClock) -> MakePoller:
    """``make_poller(store, poll_timeout)``: the poller of advertiser ADV that polls the sandbox into ``store``
    with :data:`SPENDING_RULE` and cancels a poll still running after ``poll_timeout`` (it tells no one)."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.toml").write_text(SPENDING_RULE)
    ruleset = load_rules(tmp_path / "rules", channels={"slack"})

    def make(store: Store, poll_timeout: timedelta) -> AdvertiserPoller:
        pipeline = Pipeline(client=make_client(timeout=10.0), store=store, rules=lambda: ruleset, clock=clock)
        problems = ProblemBook(ADV, OpsPolicy(), recorder=OpsAlerts(store, {}, NotifySettings()))  # no channel
        return AdvertiserPoller(
            ADV, pipeline=pipeline, clock_now=clock.now, problems=problems, poll_timeout=poll_timeout
        )

    return make


async def latest_snapshot(store: Store, advertiser_id: str) -> Snapshot | None:
    """The newest committed snapshot, read the way a poll loads ``poll.previous`` (None before the first one)."""
    async with reading(store.engine) as conn:
        return await load_current(conn, advertiser_id)


async def queued_messages(store: Store, clock: FrozenClock) -> int:
    """How many messages the outbox holds pending, due by a day from now (all that the polls queued; at most
    100)."""
    return len(await store.outbox.fetch_due(clock.now() + timedelta(days=1)))


def state(
    entity_id: str = "1",
    level: Level | str = Level.AD,
    *,
    advertiser_id: str = ADV,
    metrics: dict[str, dict[str, Any]] | None = None,
    **fields: Any,
) -> EntityState:
    """An entity state with plausible defaults; keyword arguments override fields."""
    level = Level(level)
    defaults: dict[str, Any] = {
        "name": f"{level.value} {entity_id}",
        "operation_status": "ENABLE",
        "secondary_status": f"{level.value.upper()}_STATUS_DELIVERY_OK",
        "budget": 100.0 if level in (Level.CAMPAIGN, Level.ADGROUP) else None,
        "budget_mode": "BUDGET_MODE_DAY" if level in (Level.CAMPAIGN, Level.ADGROUP) else None,
        "campaign_id": "c1" if level in (Level.ADGROUP, Level.AD) else None,
        "adgroup_id": "g1" if level is Level.AD else None,
    }
    defaults.update(fields)
    return EntityState(
        level=level,
        id=entity_id,
        advertiser_id=advertiser_id,
        metrics=metrics if metrics is not None else {"today": {"spend": 1.5, "impressions": 10}},
        **defaults,
    )


@pytest.fixture
def make_state() -> Callable[..., EntityState]:
    return state


class StatementLog:
    """Counts the statements sent to the database, by verb and table (one per executemany call)."""

    #: The verb and the table written (INSERT INTO t ... SELECT ... FROM s writes t), or the table read first.
    _SHAPE = re.compile(r'^\s*(?:(INSERT INTO|UPDATE|DELETE FROM)|(SELECT)\s+.*?\bFROM)\s+"?(\w+)', re.I | re.S)

    def __init__(self) -> None:
        self.statements: list[tuple[str, str, bool]] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, executemany: bool) -> None:
        match = self._SHAPE.match(statement)
        if match:
            verb = (match.group(1) or match.group(2)).split()[0].upper()
            self.statements.append((verb, match.group(3).lower(), executemany))

    def count(self, verb: str, table: str) -> int:
        return sum(1 for v, t, _ in self.statements if v == verb and t == table)

    def writes(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for verb, table, _ in self.statements:
            if verb != "SELECT":
                out[(verb, table)] = out.get((verb, table), 0) + 1
        return out


@contextmanager
def statement_log(engine: AsyncEngine) -> Iterator[StatementLog]:
    log = StatementLog()
    sa.event.listen(engine.sync_engine, "before_cursor_execute", log)
    try:
        yield log
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", log)


async def data_bytes(store: Store) -> int:
    """Bytes the database occupies: the SQLite file (WAL folded in), or the store's relations on PostgreSQL."""
    async with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar_one()
            size = (await conn.exec_driver_sql("PRAGMA page_size")).scalar_one()
            free = (await conn.exec_driver_sql("PRAGMA freelist_count")).scalar_one()
            total = (pages - free) * size
        else:
            query = "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' "
            query += "AND c.relnamespace = current_schema()::regnamespace"
            total = (await conn.exec_driver_sql(query)).scalar_one()
        await conn.rollback()
    return int(total)
