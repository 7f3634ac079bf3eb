"""End to end, through Pipeline against the sandbox with a frozen clock and a real SQLite store: the issue's
"done when" list, one test each."""

from __future__ import annotations

from datetime import UTC, datetime

from actions_factories import (
    ADGROUP,
    ADV,
    CAMPAIGN,
    LIFETIME_CAMPAIGN,
    actions_in,
    latest_snapshot,
    ops,
    outbox,
    rule,
    writes,
)

from monitor.actions import GuardSettings
from monitor.actions.breaker import Breaker
from monitor.actions.revert import revert
from monitor.domain import Level
from monitor.interrupted import interrupted_lines
from monitor.sandbox import Fault
from monitor.store.values import ActionIntent, ActionStatus
from monitor.tiktok.models import AdvertiserInfo

PAUSE_OVERSPEND = rule("overspend", "spend > 300", '"pause"')


async def test_a_rule_pauses_an_overspending_campaign_exactly_once_across_many_polls(
    make_pipeline, sandbox, store, clock
):
    pipeline = make_pipeline(PAUSE_OVERSPEND)
    first = await pipeline.poll(ADV)
    assert [(t.planned.entity_id, t.outcome.value) for t in first.actions] == [(CAMPAIGN, "done")]
    for _ in range(12):
        clock.advance(300)
        summary = await pipeline.poll(ADV)
        assert summary.actions == ()
    assert writes(sandbox, "campaign/status/update/") == 1
    assert sandbox.world.operation_status(sandbox.world.find(CAMPAIGN), clock.now().timestamp()) == "DISABLE"
    [entry] = await store.journal.history()
    assert (entry.status, entry.intent.rule, entry.intent.entity_id) == (ActionStatus.SUCCEEDED, "overspend", CAMPAIGN)
    assert (dict(entry.intent.before), dict(entry.intent.after)) == (
        {"operation_status": "ENABLE"},
        {"operation_status": "DISABLE"},
    )
    assert entry.request_id and "spend > 300" in entry.intent.reason and entry.error is None  # confirmed, no note
    messages = await outbox(store, clock.now())
    [action] = actions_in(messages, "overspend")
    assert (action["type"], action["outcome"], action["journal_id"]) == ("pause", "done", entry.id)
    assert await ops(store, clock.now()) == []


async def test_a_dry_run_rule_writes_nothing_and_says_what_it_would_do(make_pipeline, sandbox, store, clock):
    pipeline = make_pipeline(rule("overspend", "spend > 300", '"pause"', extra="dry_run = true"))
    summary = await pipeline.poll(ADV)
    [taken] = summary.actions
    assert taken.outcome.value == "dry run"
    assert taken.reason == "would do: operation_status ENABLE -> DISABLE (the rule is a dry run)"
    assert writes(sandbox, "campaign/status/update/") == 0
    [entry] = await store.journal.history()
    assert (entry.status, entry.intent.dry_run, entry.id) == (ActionStatus.DRY_RUN, True, taken.journal_id)
    [action] = actions_in(await outbox(store, clock.now()), "overspend")
    assert action["outcome"] == "dry run"


async def test_the_kill_switch_makes_every_action_a_dry_run(make_pipeline, sandbox, store):
    pipeline = make_pipeline(PAUSE_OVERSPEND, GuardSettings(enabled=False))
    [taken] = (await pipeline.poll(ADV)).actions
    assert taken.outcome.value == "dry run" and "[actions] enabled = false" in taken.reason
    assert writes(sandbox, "campaign/status/update/") == 0


async def test_a_poll_asking_more_than_max_writes_writes_nothing_and_opens_the_breaker(
    make_pipeline, sandbox, store, clock
):
    settings = GuardSettings(max_writes=5)
    pipeline = make_pipeline(rule("spending-ads", "spend > 0", '"pause"', level="ad", ids=()), settings)
    summary = await pipeline.poll(ADV)
    asked = len(summary.actions)
    assert asked > 5
    assert {t.outcome.value for t in summary.actions} == {"skipped"}
    why = f"0 writes within 5m and {asked} more asked, more than max_writes = 5"
    assert all(t.reason.startswith(f"circuit breaker open since 2026-11-24 20:00 UTC: {why}") for t in summary.actions)
    assert writes(sandbox, "ad/status/update/") == 0
    assert await store.journal.history() == []
    assert await ops(store, clock.now(), "actions_held") == []  # the breaker tells once, not each poll
    breaker = Breaker(store.breaker, clock, settings)
    assert (await breaker.tell(["slack:#ops"])) is not None
    assert (await breaker.tell(["slack:#ops"])) is None
    [alert] = await ops(store, clock.now(), "actions_held")
    assert alert["_channel"] == "slack:#ops" and alert["subject"] == "circuit-breaker"
    assert alert["detail"].startswith(f"circuit breaker open: {why}. Held back ({asked}): pause ad ")
    assert f"of advertiser {ADV} (rule spending-ads)" in alert["detail"]


async def test_conflicting_rules_neither_acts_and_alerts(make_pipeline, sandbox, store, clock):
    rules = rule("stop", "spend > 300", '"pause"') + rule("go", "spend > 300", '"enable"')
    summary = await make_pipeline(rules).poll(ADV)
    assert [t.outcome.value for t in summary.actions] == ["skipped", "skipped"]
    assert writes(sandbox, "campaign/status/update/") == 0
    [alert] = await ops(store, clock.now(), "actions_held")
    assert "conflicting rules on campaign 1801100000000000001: rule stop asks pause" in alert["detail"]


async def test_a_budget_rule_compounds_no_more_than_the_daily_cap(make_pipeline, sandbox, store, clock):
    """Rules that each raise the budget once, on successive polls: the day's total stays within +100 %."""
    rules = (
        rule("grow-1", "budget < 500", '{ type = "scale_budget", by = "+20%" }')
        + rule("grow-2", "budget > 500 and budget < 600", '{ type = "scale_budget", by = "+50%" }')
        + rule("grow-3", "budget > 700 and budget < 800", '{ type = "scale_budget", by = "+50%" }')
        + rule("grow-4", "budget > 850", '{ type = "scale_budget", by = "+10%" }')
    )
    pipeline = make_pipeline(rules)
    outcomes = []
    for _ in range(6):
        summary = await pipeline.poll(ADV)
        outcomes += [(t.planned.rule, t.outcome.value, t.reason) for t in summary.actions]
        clock.advance(300)
    assert [(rule_name, outcome) for rule_name, outcome, _ in outcomes] == [
        ("grow-1", "done"),
        ("grow-2", "done"),
        ("grow-3", "done"),
        ("grow-4", "skipped"),
    ]
    assert outcomes[0][2] == "budget 434.00 USD -> 520.80 USD"
    assert outcomes[2][2] == (
        "budget 781.20 USD -> 868.00 USD; trimmed to 868.00 USD by max_change_per_day = +100% "
        "(from 434.00 USD at the start of the day)"
    )
    assert outcomes[3][2].startswith("max_change_per_day = +100% reached for today")
    assert writes(sandbox, "campaign/update/") == 3
    assert sandbox.world.find(CAMPAIGN).budgets.at(clock.now().timestamp()) == 868.0
    entries = await store.journal.history(rule="grow-3")
    assert [(e.intent.before["budget"], e.intent.after["budget"]) for e in entries] == [(781.2, 868.0)]
    assert await ops(store, clock.now()) == []  # every write confirmed by the poll after it


async def test_a_manual_re_enable_is_respected(make_pipeline, sandbox, store, clock):
    pipeline = make_pipeline(rule("pause-spender", "spend > 300 and operation_status == 'ENABLE'", '"pause"'))
    [paused] = (await pipeline.poll(ADV)).actions
    assert paused.outcome.value == "done"
    for _ in range(2):  # the condition no longer holds: resolving, resolved
        clock.advance(300)
        assert (await pipeline.poll(ADV)).actions == ()
    campaign = sandbox.world.find(CAMPAIGN)
    sandbox.world.set_status(campaign, "ENABLE", clock.now().timestamp())  # a person switches it back on
    clock.advance(300)
    [again] = (await pipeline.poll(ADV)).actions  # the rule fires again, and yields
    assert again.outcome.value == "skipped"
    assert again.reason.startswith(f"manual override: a person set it to ENABLE at {clock.now():%Y-%m-%d %H:%M} UTC")
    assert f"after journal #{paused.journal_id}" in again.reason and "(override_hold)" in again.reason
    assert writes(sandbox, "campaign/status/update/") == 1
    assert sandbox.world.operation_status(campaign, clock.now().timestamp()) == "ENABLE"
    [told] = await ops(store, clock.now(), "actions_held")
    assert f"campaign {CAMPAIGN}: manual override: a person set it to ENABLE" in told["detail"]
    holds = [(h.key, h.field, h.by) for h in await store.holds.active(ADV, clock.now())]
    assert holds == [((Level.CAMPAIGN, CAMPAIGN), "operation_status", "a person")]
    assert {rule for rule, _, _ in await store.alerts.load(ADV)} == {"pause-spender"}  # holds are no alert states
    clock.advance(25 * 3600)  # the hold expires and is forgotten
    await pipeline.poll(ADV)
    assert await store.holds.active(ADV, clock.now()) == []


async def test_revert_undoes_a_pause(make_pipeline, make_client, sandbox, store, clock):
    pipeline = make_pipeline(PAUSE_OVERSPEND)
    [paused] = (await pipeline.poll(ADV)).actions
    campaign = sandbox.world.find(CAMPAIGN)
    settings = GuardSettings()
    client = make_client()
    preview = await revert(paused.journal_id, store=store, client=client, clock=clock, settings=settings, dry_run=True)
    assert preview.ok and "dry run" in preview.message and "operation_status DISABLE -> ENABLE" in preview.message
    assert sandbox.world.operation_status(campaign, clock.now().timestamp()) == "DISABLE"
    clock.advance(60)
    done = await revert(paused.journal_id, store=store, client=client, clock=clock, settings=settings)
    assert done.ok and done.message.startswith(f"#{paused.journal_id} pause campaign {CAMPAIGN}: reverted (journal #")
    assert sandbox.world.operation_status(campaign, clock.now().timestamp()) == "ENABLE"
    undo = await store.journal.get(done.taken.journal_id)
    assert (undo.status, undo.intent.reverts, undo.intent.action, undo.intent.rule) == (
        ActionStatus.SUCCEEDED,
        paused.journal_id,
        "enable",
        "overspend",
    )
    assert (dict(undo.intent.before), dict(undo.intent.after)) == (
        {"operation_status": "DISABLE"},
        {"operation_status": "ENABLE"},
    )
    again = await revert(paused.journal_id, store=store, client=client, clock=clock, settings=settings)
    assert not again.ok and again.message == f"not reverted: #{paused.journal_id} was already reverted by #{undo.id}"
    assert (await revert(999, store=store, client=client, clock=clock, settings=settings)).message == (
        "not reverted: there is no journal entry #999"
    )
    clock.advance(240)
    await pipeline.poll(ADV)  # the revert is verified by the next poll, and the rule does not pause it again
    assert await ops(store, clock.now()) == []
    assert writes(sandbox, "campaign/status/update/") == 2


async def test_a_transient_failure_is_retried(make_pipeline, sandbox, store):
    sandbox.faults.add(Fault(kind="http_error", status=500, count=1, path="campaign/status/update/"))
    [taken] = (await make_pipeline(PAUSE_OVERSPEND).poll(ADV)).actions
    assert taken.outcome.value == "done"
    assert writes(sandbox, "campaign/status/update/") == 2
    [entry] = await store.journal.history()
    assert entry.status is ActionStatus.SUCCEEDED and entry.request_id


async def test_a_transient_failure_that_outlasts_the_retries_is_journaled_as_unknown(make_pipeline, sandbox, store):
    sandbox.faults.add(Fault(kind="http_error", status=503, count=10, path="campaign/status/update/"))
    [taken] = (await make_pipeline(PAUSE_OVERSPEND).poll(ADV)).actions
    assert taken.outcome.value == "failed"
    assert writes(sandbox, "campaign/status/update/") == 4  # the first try and 3 retries of the test client
    [entry] = await store.journal.history()
    assert entry.status is ActionStatus.FAILED and "it may or may not have taken effect" in entry.error


async def test_a_permanent_failure_is_journaled_and_alerted(make_pipeline, sandbox, store, clock):
    sandbox.faults.add(Fault(kind="api_code", code=40002, count=1, path="campaign/status/update/"))
    [taken] = (await make_pipeline(PAUSE_OVERSPEND).poll(ADV)).actions
    assert taken.outcome.value == "failed" and "code 40002" in taken.reason
    assert writes(sandbox, "campaign/status/update/") == 1  # not retried
    [entry] = await store.journal.history()
    assert entry.status is ActionStatus.FAILED and "code 40002" in entry.error and entry.request_id
    assert entry.request_id == taken.request_id
    [alert] = await ops(store, clock.now(), "action_failed")
    assert f"pause campaign {CAMPAIGN} (rule overspend): code 40002" in alert["detail"]
    [action] = actions_in(await outbox(store, clock.now()), "overspend")
    assert (action["outcome"], action["journal_id"]) == ("failed", entry.id)


async def test_a_write_the_next_poll_does_not_see_is_alerted_and_noted(make_pipeline, sandbox, store, clock):
    pipeline = make_pipeline(PAUSE_OVERSPEND)
    [paused] = (await pipeline.poll(ADV)).actions
    sandbox.world.set_status(sandbox.world.find(CAMPAIGN), "ENABLE", clock.now().timestamp() + 1)
    clock.advance(300)
    await pipeline.poll(ADV)
    entry = await store.journal.get(paused.journal_id)
    assert entry.status is ActionStatus.SUCCEEDED
    assert "not confirmed by the poll at" in entry.error and "expected operation_status DISABLE" in entry.error
    [alert] = await ops(store, clock.now(), "action_failed")
    assert f"#{paused.journal_id} pause campaign {CAMPAIGN}: not confirmed" in alert["detail"]


async def test_an_interrupted_write_is_settled_by_the_next_poll_never_retried(make_pipeline, sandbox, store, clock):
    await store.upsert_advertisers([AdvertiserInfo(ADV, "Acme", None, "USD", "America/New_York")], clock.now())
    intent = ActionIntent(ADV, Level.CAMPAIGN, CAMPAIGN, "pause", "crashed", {"operation_status": "ENABLE"},
                          {"operation_status": "DISABLE"}, rule="overspend")  # fmt: skip
    left = await store.journal.begin(intent, clock.now())  # the process died before TikTok answered
    assert interrupted_lines(await store.journal.history(statuses=[ActionStatus.PENDING], limit=None)) == {
        ADV: [f"#{left.id} pause campaign {CAMPAIGN} at {clock.now():%Y-%m-%d %H:%M}"]
    }
    clock.advance(60)
    summary = await make_pipeline(rule("quiet", "spend > 1e9", '"pause"')).poll(ADV)
    assert summary.actions == ()
    settled = await store.journal.get(left.id)
    assert settled.status is ActionStatus.FAILED and settled.error.startswith("interrupted before TikTok answered")
    assert "not in effect" in settled.error
    assert writes(sandbox, "campaign/status/update/") == 0
    [alert] = await ops(store, clock.now(), "action_failed")
    assert f"#{left.id} pause campaign {CAMPAIGN}: interrupted" in alert["detail"]
    assert interrupted_lines(await store.journal.history(statuses=[ActionStatus.PENDING], limit=None)) == {}


async def test_a_daily_ad_group_budget_is_scheduled_and_verified_after_midnight(make_pipeline, sandbox, store, clock):
    pipeline = make_pipeline(
        rule("more", "spend > 0", '{ type = "set_budget", to = 600 }', level="adgroup", ids=(ADGROUP,))
    )
    [taken] = (await pipeline.poll(ADV)).actions
    assert taken.outcome.value == "done" and "from the next local midnight" in taken.reason
    assert writes(sandbox, "adgroup/budget/update/") == 1
    [entry] = await store.journal.history()
    assert entry.intent.after["scheduled_from"] == "2026-11-25T00:00:00-05:00"
    clock.advance(300)
    await pipeline.poll(ADV)  # before midnight the old budget still shows: not a mismatch
    assert await ops(store, clock.now()) == []
    clock.set(datetime(2026, 11, 25, 5, 5, tzinfo=UTC))
    await pipeline.poll(ADV)
    assert await ops(store, clock.now()) == []
    snapshot = await latest_snapshot(store, ADV)
    assert snapshot.get(Level.ADGROUP, ADGROUP).budget == 600.0
    assert (await store.journal.get(entry.id)).error is None


async def test_a_lifetime_campaign_budget_checks_lifetime_spend(make_pipeline, sandbox, store, clock):
    spent = sandbox.world.spend_lifetime(sandbox.world.find(LIFETIME_CAMPAIGN), clock.now().timestamp())
    too_low = rule("cut", "spend > 0", f'{{ type = "set_budget", to = {int(spent)} }}', ids=(LIFETIME_CAMPAIGN,))
    [taken] = (await make_pipeline(too_low, GuardSettings(change_percent=1000.0)).poll(ADV)).actions
    assert taken.outcome.value == "skipped"
    assert "is below 105 % of what it spent over its lifetime (22,618.50 USD; at least 23,749.43 USD)" in taken.reason
    assert writes(sandbox, "campaign/update/") == 0
