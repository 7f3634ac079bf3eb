"""What a warm poll of a small, unchanged advertiser costs in the database (issue 18: the cost of a poll that
does not depend on its entities): counted in statements and transactions (connections taken from the pool), on
each backend. A poll takes the lease and opens its record (one write transaction: the lease nobody holds taken
with one INSERT, the advertiser's row not inserted again), reads the previous snapshot
(one read), reads its alert states, the active silences and its live holds together (one read), the action
journal's recent and pending entries (one read) and commits (one write transaction)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from databases import DATABASES, own_database
from polling import PipelinePolls
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.pipeline import Pipeline
from monitor.rules.loader import load_rules
from monitor.sandbox import SandboxSettings
from monitor.store.repo import Store

ADV = "7000000000000000001"
RULES = """
[[rule]]
name = "spending"
level = "campaign"
when = "spend > 1000000"
notify = ["console"]

[[rule]]
name = "ad-group-stopped"
level = "adgroup"
when = "operation_status == 'DISABLE'"
notify = ["console"]

[[rule]]
name = "ad-without-conversions"
level = "ad"
when = "spend > 1000000 and conversion == 0"
notify = ["console"]
action = "pause"
"""


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(campaigns_per_advertiser=1, adgroups_per_campaign=1, ads_per_adgroup=1)


@pytest.fixture(params=DATABASES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with own_database(request.param, tmp_path, "poll_cost") as url:
        opened = await Store.open(url)
        try:
            yield opened
        finally:
            await opened.close()


class Tally:
    """Statements sent (transaction control included) and connections taken from the pool."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.checkouts = 0

    def statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(" ".join(statement.split())[:90])

    def checkout(self, *_: Any) -> None:
        self.checkouts += 1


@contextmanager
def tally(engine: AsyncEngine) -> Iterator[Tally]:
    counted = Tally()
    sa.event.listen(engine.sync_engine, "before_cursor_execute", counted.statement)
    sa.event.listen(engine.sync_engine, "checkout", counted.checkout)
    try:
        yield counted
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", counted.statement)
        sa.event.remove(engine.sync_engine, "checkout", counted.checkout)


async def test_a_warm_poll_of_an_unchanged_small_advertiser_is_five_transactions(
    make_client, store: Store, clock, sandbox, tmp_path: Path
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "small.toml").write_text(RULES)
    ruleset = load_rules(tmp_path / "rules", channels={"console"})
    polls = PipelinePolls(Pipeline(client=make_client(), store=store, rules=lambda: ruleset, clock=clock), clock)
    await polls.poll(ADV)  # cold: the snapshot is stored
    clock.advance(300)
    await polls.poll(ADV)  # the statements compiled, the day's partitions made (PostgreSQL)
    clock.advance(300)
    with tally(store.engine) as counted:
        summary = await polls.poll(ADV)
    assert (summary.entities, summary.changes, summary.notifications) == (3, 0, 0)
    shown = "\n".join(counted.statements)
    assert counted.checkouts <= 5, shown
    # lease and record 2 (the advertiser's row is known, no lease was left), previous snapshot 2, alert states,
    # silences and holds 3, journal 1, commit 3
    writes_and_reads = [s for s in counted.statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SET"))]
    assert len(writes_and_reads) <= 11, shown
