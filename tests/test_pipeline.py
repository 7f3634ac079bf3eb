"""One poll end to end: sandbox API -> store -> rules -> lifecycle -> outbox, in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from polling import PipelinePolls

from monitor.adaptive import Cadence
from monitor.domain import Level, Snapshot
from monitor.domain.stored import StoredMetrics
from monitor.fetch_plan import fetch_plan
from monitor.pipeline import Pipeline
from monitor.rules.loader import load_rules
from monitor.sandbox import Fault
from monitor.store.db import reading
from monitor.store.poll import PollWriter
from monitor.store.repo import Store
from monitor.store.snapshots import load_current

ADV = "7000000000000000001"

RULES = """
[[rule]]
name = "spending"
level = "campaign"
when = "spend > 0"
severity = "info"
notify = ["slack"]
notify_resolved = true

[[rule]]
name = "paused-campaign"
level = "campaign"
when = "operation_status == 'DISABLE'"
notify = ["slack:#paused"]

[[rule]]
name = "no-conversions-yesterday"
level = "ad"
window = "yesterday"
when = "spend > 1 and conversion == 0"
notify = ["slack"]
"""


async def latest_snapshot(store: Store, advertiser_id: str) -> Snapshot | None:
    """The newest committed snapshot, read the way a poll loads ``poll.previous``."""
    async with reading(store.engine) as conn:
        return await load_current(conn, advertiser_id)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "test.toml").write_text(RULES)
    return directory


@pytest.fixture
async def store(tmp_path: Path):
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
    yield store
    await store.close()


@pytest.fixture
def pipeline(make_client, store, rules_dir, clock):
    ruleset = load_rules(rules_dir, channels={"slack"})
    return PipelinePolls(Pipeline(client=make_client(), store=store, rules=lambda: ruleset, clock=clock), clock)


def test_the_plan_reads_only_what_the_rules_need(rules_dir):
    plan = fetch_plan(load_rules(rules_dir, channels={"slack"}).needs())
    assert set(plan.levels) == {Level.CAMPAIGN, Level.AD}
    assert dict(plan.levels[Level.CAMPAIGN].windows) == {"today": ("spend",)}
    assert dict(plan.levels[Level.AD].windows) == {"yesterday": ("conversion", "spend")}


async def test_a_poll_stores_the_snapshot_and_enqueues_grouped_messages(pipeline, store, sandbox, clock):
    summary = await pipeline.poll(ADV)
    assert summary.entities == 3 + 24  # campaigns and ads; ad groups are not read by any rule
    assert summary.calls == len(sandbox.arrivals)
    assert summary.findings >= 2
    assert sum(summary.findings_by_rule.values()) == summary.findings
    assert summary.findings_by_rule[("paused-campaign", "warning")] == 1
    snapshot = await latest_snapshot(store, ADV)
    assert snapshot is not None and len(snapshot) == summary.entities
    rows = await store.outbox.fetch_due(clock.now())
    channels = sorted(row.channel for row in rows)
    assert "slack:#paused" in channels
    # every spending campaign is in one grouped "spending" message, not one message each
    spending = [row for row in rows if row.payload["rule"]["name"] == "spending"]
    assert len(spending) == 1
    assert summary.notifications == len(rows)


async def test_a_second_poll_does_not_repeat_firing_alerts(pipeline, store, clock):
    await pipeline.poll(ADV)
    first = len(await store.outbox.fetch_due(clock.now()))
    clock.advance(60)
    summary = await pipeline.poll(ADV)
    assert summary.notifications == 0
    assert len(await store.outbox.fetch_due(clock.now())) == first


async def test_a_failed_fetch_writes_nothing_and_keeps_the_previous_snapshot(pipeline, store, sandbox, clock):
    await pipeline.poll(ADV)
    before = await latest_snapshot(store, ADV)
    sandbox.faults.add(Fault(kind="api_code", code=40002, path="ad/get/", count=1))
    clock.advance(60)
    with pytest.raises(Exception, match="40002"):
        await pipeline.poll(ADV)
    after = await latest_snapshot(store, ADV)
    assert after is not None and before is not None and after.poll_id == before.poll_id
    runs = await store.polls(ADV)
    assert runs[0].status == "failed" and "40002" in " ".join(runs[0].errors)


async def test_a_poll_times_each_of_its_stages(pipeline):
    summary = await pipeline.poll(ADV)
    stages = ["start", "fetch", "store", "diff", "evaluate", "lifecycle", "act", "notify", "commit"]
    assert list(summary.stage_seconds) == stages
    assert all(seconds >= 0 for seconds in summary.stage_seconds.values())
    assert summary.stage_seconds["fetch"] > 0  # real HTTP to the sandbox
    assert sum(summary.stage_seconds.values()) <= summary.seconds


async def test_at_debug_level_a_poll_logs_its_stage_seconds(pipeline, caplog):
    with caplog.at_level("DEBUG", logger="monitor.pipeline"):
        await pipeline.poll(ADV)
    lines = [r.getMessage() for r in caplog.records if "stage seconds" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith(f"advertiser {ADV}: stage seconds start=")
    assert " fetch=" in lines[0] and " commit=" in lines[0]


class _WatchedStore(Store):
    """A store that keeps each poll's writer, to look at the snapshots a poll had in hand."""

    writers: list[PollWriter]

    @asynccontextmanager
    async def poll(self, advertiser_id: str, now: datetime, **kwargs: Any) -> AsyncIterator[PollWriter]:
        async with super().poll(advertiser_id, now, **kwargs) as writer:
            self.writers.append(writer)
            yield writer


async def test_a_poll_lends_the_previous_snapshots_ids_and_names_to_the_new_one(
    make_client, rules_dir, clock, tmp_path
):
    """Issue 18: the fetch shares the previous snapshot's id and name strings where equal (``known=``), so a large
    account's two snapshots hold one copy of each, not two."""
    store = await _WatchedStore.open(f"sqlite:///{tmp_path / 'watched.db'}")
    store.writers = []
    try:
        ruleset = load_rules(rules_dir, channels={"slack"})
        polls = PipelinePolls(Pipeline(client=make_client(), store=store, rules=lambda: ruleset, clock=clock), clock)
        await polls.poll(ADV)
        await polls.poll(ADV)
        writer = store.writers[-1]
        assert writer.previous is not None
        previous, current = writer.previous.entities, writer.current.entities
        both = [key for key in current if key in previous]
        assert len(both) == 3 + 24
        assert all(current[key].id is previous[key].id for key in both)
        named = [key for key in both if current[key].name == previous[key].name]
        assert named and all(current[key].name is previous[key].name for key in named)
    finally:
        await store.close()


async def test_a_poll_makes_no_previous_state_of_an_entity_that_did_not_change(make_client, rules_dir, clock, tmp_path):
    """Issue 18: the poll reads the previous snapshot lean (monitor.store.lean) and compares before anything reads
    it whole: an unchanged entity's previous state is the new state itself (tests/store/test_lean_previous.py
    compares the two ways), and what the poll saw of the previous one is what was stored."""
    store = await _WatchedStore.open(f"sqlite:///{tmp_path / 'watched.db'}")
    store.writers = []
    try:
        ruleset = load_rules(rules_dir, channels={"slack"})
        polls = PipelinePolls(Pipeline(client=make_client(), store=store, rules=lambda: ruleset, clock=clock), clock)
        await polls.poll(ADV)
        stored = await latest_snapshot(store, ADV)
        await polls.poll(ADV)
        writer = store.writers[-1]
        assert writer.previous is not None and stored is not None
        previous, current = writer.previous.entities, writer.current.entities
        assert list(previous) == list(stored.entities)
        same = [key for key in previous if previous[key] is current.get(key)]
        assert same  # the mock's entities do not change: none has a previous state of its own
        assert all(previous[key] == stored.entities[key] for key in previous)
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("when", "adaptive", "parsed"),
    [("spend > 0", False, False), ("spend > 0 and delta(spend) > -1", False, True), ("spend > 0", True, True)],
    ids=["now", "delta", "now-adaptive"],
)
async def test_a_poll_keeps_the_previous_metrics_parsed_only_where_a_rule_reads_them(
    make_client, tmp_path, clock, when, adaptive, parsed
):
    """Issue 18: comparing parses a changed entity's previous metrics; the poll keeps them parsed (decoded once,
    the text let go) at the levels whose previous metrics a rule reads, at every level with adaptive polling
    (monitor.pace reads every entity's previous spend), and else keeps only their text (about half the memory,
    held for the rest of the poll), decoded if something reads it."""
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "r.toml").write_text(
        f'[[rule]]\nname = "c"\nlevel = "campaign"\nwhen = "{when}"\nnotify = ["slack"]\n'
    )
    store = await _WatchedStore.open(f"sqlite:///{tmp_path / 'watched.db'}")
    store.writers = []
    try:
        ruleset = load_rules(directory, channels={"slack"})
        cadence = (lambda: Cadence(timedelta(minutes=5), timedelta(minutes=1))) if adaptive else None
        pipeline = Pipeline(client=make_client(), store=store, rules=lambda: ruleset, clock=clock, adaptive=cadence)
        polls = PipelinePolls(pipeline, clock)
        await polls.poll(ADV)
        stored = await latest_snapshot(store, ADV)
        clock.advance(600)  # the sandbox's campaigns spend meanwhile
        await polls.poll(ADV)
        writer = store.writers[-1]
        assert writer.previous is not None and stored is not None
        previous, current = writer.previous.entities, writer.current.entities
        moved = [key for key in previous if previous[key] is not current[key]]
        assert moved  # compared: these changed
        assert all(type(previous[key].metrics) is StoredMetrics for key in moved)
        metrics = [cast(StoredMetrics, previous[key].metrics) for key in moved]
        # handed over parsed: the text let go (a rule's read alone would decode and keep it)
        assert [(m.decoded, m.text_held) for m in metrics] == [(parsed, not parsed)] * len(moved)
        assert all(dict(previous[key].metrics) == dict(stored.entities[key].metrics) for key in moved)
    finally:
        await store.close()
