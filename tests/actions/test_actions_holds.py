"""Holds through the pipeline, against the sandbox with a real SQLite store: made by a poll or by a revert,
kept in the holds table across restarts, honoured by the guards, and never seen by the rules' lifecycle."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from actions_factories import ADV, CAMPAIGN, rule, writes
from slow_commits import SlowCommit

from monitor.actions import GuardSettings
from monitor.actions.revert import revert
from monitor.domain import Level
from monitor.pipeline import Pipeline
from monitor.store.db import create_engine
from monitor.store.migrate import upgrade
from monitor.store.pollreads import PollReads
from monitor.store.repo import Store
from monitor.store.values import ActionIntent, ActionStatus

#: Pauses the campaign while it spends and runs: a campaign a person turns back on makes it fire again.
PAUSE_RUNNING_SPENDER = rule("pause-spender", "spend > 300 and operation_status == 'ENABLE'", '"pause"')


async def pause_then_resolve(pipeline: Pipeline, clock) -> int:
    """The rule pauses the campaign, then stops firing (it no longer runs); returns the pause's journal id."""
    [paused] = (await pipeline.poll(ADV)).actions
    assert paused.outcome.value == "done" and paused.journal_id is not None
    for _ in range(2):  # resolving, resolved
        clock.advance(300)
        assert (await pipeline.poll(ADV)).actions == ()
    return paused.journal_id


def spy_on_alert_states(store: Store) -> list[dict]:
    """Record every set of alert states the pipeline loads for the lifecycle."""
    loaded: list[dict] = []
    read = store.poll_reads

    async def spy(advertiser_id: str, now: datetime) -> PollReads:
        reads = await read(advertiser_id, now)
        loaded.append(dict(reads.alert_states))
        return reads

    store.poll_reads = spy  # type: ignore[method-assign]
    return loaded


async def test_a_reverts_hold_keeps_the_rule_from_pausing_again_within_override_hold(
    make_pipeline, make_client, sandbox, store, clock
):
    pipeline = make_pipeline(PAUSE_RUNNING_SPENDER)
    paused = await pause_then_resolve(pipeline, clock)
    clock.advance(60)
    done = await revert(paused, store=store, client=make_client(), clock=clock, settings=GuardSettings())
    assert done.ok and done.taken is not None
    undo = done.taken.journal_id
    [hold] = await store.holds.active(ADV, clock.now())  # stored by the revert, in the table
    assert (hold.key, hold.field, hold.by, hold.journal_id, hold.value) == (
        (Level.CAMPAIGN, CAMPAIGN),
        "operation_status",
        f"revert #{undo}",
        paused,
        "ENABLE",
    )
    assert hold.until == clock.now() + timedelta(hours=24)
    loaded = spy_on_alert_states(store)
    clock.advance(240)
    [again] = (await pipeline.poll(ADV)).actions  # running again: the rule fires, and yields to the revert
    assert again.outcome.value == "skipped"
    assert again.reason.startswith(f"manual override: revert #{undo} set it to ENABLE")
    assert f"after journal #{paused}" in again.reason
    assert writes(sandbox, "campaign/status/update/") == 2  # the pause and the revert
    assert [set(states) for states in loaded] == [{("pause-spender", Level.CAMPAIGN, CAMPAIGN)}]


async def test_a_hold_a_poll_made_survives_a_restart_and_the_guards_honour_it(
    make_pipeline, sandbox, store, clock, tmp_path: Path
):
    waits = rule("pause-spender", "spend > 300 and operation_status == 'ENABLE'", '"pause"', extra='for = "10m"')
    pipeline = make_pipeline(waits)
    for _ in range(2):  # pending for 10 minutes
        assert (await pipeline.poll(ADV)).actions == ()
        clock.advance(300)
    [paused] = (await pipeline.poll(ADV)).actions
    assert paused.outcome.value == "done"
    for _ in range(2):
        clock.advance(300)
        await pipeline.poll(ADV)
    campaign = sandbox.world.find(CAMPAIGN)
    sandbox.world.set_status(campaign, "ENABLE", clock.now().timestamp())  # a person switches it back on
    clock.advance(300)
    seen_at = clock.now()
    assert (await pipeline.poll(ADV)).actions == ()  # the override is seen; the rule is only pending again
    await store.close()  # the daemon restarts

    reopened = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}", clock=clock)
    try:
        [hold] = await reopened.holds.active(ADV, clock.now())
        assert (hold.by, hold.since) == ("a person", seen_at)
        pipeline = make_pipeline(waits, on=reopened)
        clock.advance(300)
        assert (await pipeline.poll(ADV)).actions == ()
        clock.advance(300)
        [again] = (await pipeline.poll(ADV)).actions  # fires after its 10 minutes, and yields
        assert again.outcome.value == "skipped"
        assert again.reason.startswith(f"manual override: a person set it to ENABLE at {seen_at:%Y-%m-%d %H:%M} UTC")
        assert writes(sandbox, "campaign/status/update/") == 1
        assert sandbox.world.operation_status(campaign, clock.now().timestamp()) == "ENABLE"
    finally:
        await reopened.close()


async def test_a_revert_that_died_mid_write_gets_its_hold_from_the_poll_that_settles_it(
    make_pipeline, sandbox, store, clock
):
    pipeline = make_pipeline(PAUSE_RUNNING_SPENDER)
    paused = await pause_then_resolve(pipeline, clock)
    intent = ActionIntent(ADV, Level.CAMPAIGN, CAMPAIGN, "enable", "undone on request", {"operation_status": "DISABLE"},
                          {"operation_status": "ENABLE"}, rule="pause-spender", reverts=paused)  # fmt: skip
    left = await store.journal.begin(intent, clock.now())  # the revert's write went out; the process died
    sandbox.world.set_status(sandbox.world.find(CAMPAIGN), "ENABLE", clock.now().timestamp())
    clock.advance(300)
    [again] = (await pipeline.poll(ADV)).actions
    assert (await store.journal.get(left.id)).status is ActionStatus.SUCCEEDED  # settled: in effect
    assert again.outcome.value == "skipped" and f"manual override: revert #{left.id} set it to ENABLE" in again.reason
    [hold] = await store.holds.active(ADV, clock.now())
    assert (hold.by, hold.journal_id) == (f"revert #{left.id}", paused)
    assert writes(sandbox, "campaign/status/update/") == 1


async def test_a_hold_an_older_version_kept_as_an_alert_state_is_honoured_and_the_lifecycle_never_sees_it(
    make_pipeline, sandbox, clock, tmp_path: Path
):
    url = f"sqlite:///{tmp_path / 'older.db'}"
    engine = create_engine(url)
    await upgrade(engine, revision="0002")
    stored_at = clock.now().replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")  # as 0002 wrote times
    until = (clock.now() + timedelta(hours=20)).isoformat()
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("INSERT INTO advertisers (id, created_at, updated_at) VALUES (:id, :t, :t)"),
            {"id": ADV, "t": stored_at},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO alert_states (advertiser_id, rule, level, entity_id, state, since, last_values, updated_at)"
                " VALUES (:a, :r, :l, :e, 'held', :t, :v, :t)"
            ),
            {
                "a": ADV,
                "r": "_actions/override/operation_status",
                "l": "campaign",
                "e": CAMPAIGN,
                "t": stored_at,
                "v": f'{{"by":"a person","journal_id":null,"until":"{until}","value":"ENABLE"}}',
            },
        )
    await engine.dispose()

    store = await Store.open(url, clock=clock)  # upgrades: the hold moves to its table
    try:
        loaded = spy_on_alert_states(store)
        pipeline = make_pipeline(rule("overspend", "spend > 300", '"pause"'), on=store)
        [taken] = (await pipeline.poll(ADV)).actions  # the rule fires, and yields to the hold
        assert taken.outcome.value == "skipped"
        assert taken.reason.startswith(
            f"manual override: a person set it to ENABLE at {clock.now():%Y-%m-%d %H:%M} UTC"
        )
        clock.advance(300)
        assert (await pipeline.poll(ADV)).actions == ()
        assert [set(states) for states in loaded] == [set(), {("overspend", Level.CAMPAIGN, CAMPAIGN)}]
        assert writes(sandbox, "campaign/status/update/") == 0
    finally:
        await store.close()


@pytest.mark.parametrize("lands", [True, False], ids=["after-it-landed", "before-it-lands"])
async def test_a_revert_cut_short_before_its_hold_gets_it_from_the_poll_that_confirms_it(
    make_pipeline, make_client, sandbox, store, clock, lands
):
    # Ctrl-C of `revert`, or the shutdown of a daemon whose Slack button ran it, while TikTok's answer is journaled:
    # the answer is journaled, the hold is not stored; before, the next poll's rule paused the campaign again
    pipeline = make_pipeline(PAUSE_RUNNING_SPENDER)
    paused = await pause_then_resolve(pipeline, clock)
    clock.advance(60)
    slow = SlowCommit(store.engine, "UPDATE actions", 0.5, lands=lands)
    try:
        reverting = asyncio.create_task(
            revert(paused, store=store, client=make_client(), clock=clock, settings=GuardSettings())
        )
        await asyncio.wait_for(slow.holding.wait(), 10)
        reverting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reverting
    finally:
        slow.remove()
    [undo] = await store.journal.history(reverts=paused, limit=None)
    assert undo.status is ActionStatus.SUCCEEDED and undo.request_id  # journaled to the end, TikTok's answer kept
    assert await store.holds.active(ADV, clock.now()) == []  # cut short before the hold
    clock.advance(240)
    [again] = (await pipeline.poll(ADV)).actions  # running again: the rule fires, and yields to the revert
    assert again.outcome.value == "skipped"
    assert again.reason.startswith(f"manual override: revert #{undo.id} set it to ENABLE")
    [hold] = await store.holds.active(ADV, clock.now())
    assert (hold.by, hold.journal_id) == (f"revert #{undo.id}", paused)
    assert writes(sandbox, "campaign/status/update/") == 2  # the pause and the revert
