"""The action runner as the composition root wires it: guard settings from [actions], ops messages to the ops
channels, metrics per outcome, and start-up reporting of writes a previous run left unfinished."""

from __future__ import annotations

from pathlib import Path

from actions_factories import ADV, CAMPAIGN, ops, rule

from monitor.actions import Planned, Taken
from monitor.config import load_settings
from monitor.domain import Level, Outcome
from monitor.metrics import Metrics
from monitor.notify.outbox import SendReport
from monitor.once import render_summary
from monitor.polls import PollOutcome, PollResult, PollSummary
from monitor.store.repo import Store
from monitor.store.values import ActionIntent, ActionStatus
from monitor.tiktok.models import AdvertiserInfo
from monitor.wiring import open_runtime


class Quiet:
    """A channel that is never asked to send here (the test reads the outbox)."""

    async def send(self, message: object, target: str | None, *, delivery_id: str | None = None) -> None:
        raise AssertionError("not expected to send")


def config(tmp_path: Path, base_url: str, actions: str = "") -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(rule("overspend", "spend > 300", '"pause"'))
    path = tmp_path / "config.toml"
    path.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[slack]\ntoken = "xoxb-1"\nchannel = "#ads"\n'
        f"[actions]\n{actions}"
    )
    return path


async def test_runtime_reports_interrupted_writes_and_counts_outcomes(tmp_path, sandbox, clock) -> None:
    settings = load_settings(config(tmp_path, sandbox.base_url, "max_per_cycle = 2\n"))
    store = await Store.open(settings.storage.url, clock=clock)
    try:
        await store.upsert_advertisers([AdvertiserInfo(ADV, "Acme", None, "USD", "America/New_York")], clock.now())
        intent = ActionIntent(ADV, Level.AD, "a1", "pause", "why", {"operation_status": "ENABLE"},
                              {"operation_status": "DISABLE"})  # fmt: skip
        left = await store.journal.begin(intent, clock.now())
    finally:
        await store.close()
    metrics = Metrics()
    runtime = await open_runtime(settings, clock=clock, channels={"slack": Quiet()}, metrics=metrics)
    try:
        assert runtime.actions.settings.max_writes == 2  # max_per_cycle: its deprecated name
        [told] = await ops(runtime.store, clock.now(), "action_failed")
        assert told["_channel"] == "slack" and told["subject"] == ADV
        assert f"#{left.id} pause ad a1" in told["detail"] and "interrupted" in told["detail"]
        summary = (await runtime.poll(ADV)).summary
        assert [(t.planned.entity_id, t.outcome.value) for t in summary.actions] == [(CAMPAIGN, "done")]
        sample = metrics.registry.get_sample_value
        assert sample("tiktok_monitor_actions_total", {"type": "pause", "outcome": "applied"}) == 1
        # the ad level is not polled: the interrupted ad write is settled as unknown, and told
        settled = await runtime.store.journal.get(left.id)
        assert settled.status is ActionStatus.FAILED and "outcome unknown" in settled.error
    finally:
        await runtime.close()


def test_once_summary_counts_action_outcomes_and_lists_them() -> None:
    planned = Planned("pause", Level.CAMPAIGN, CAMPAIGN, None, "spend > 300", rule="overspend")
    taken = (
        Taken(planned, Outcome.DONE, "operation_status ENABLE -> DISABLE", 3),
        Taken(planned, Outcome.SKIPPED, "already paused (operation_status DISABLE)"),
    )
    text = render_summary(
        [ADV], [PollOutcome(ADV, PollResult.OK, summary=PollSummary(ADV, "Acme", actions=taken))], SendReport(), 5
    )
    assert f"    action: pause campaign {CAMPAIGN} (rule overspend): done (journal #3): operation_status" in text
    assert text.splitlines()[-1] == (
        "actions: 1 done, 0 dry run, 1 skipped, 0 failed (journal: tiktok-monitor history)"
    )
    assert render_summary([ADV], [PollOutcome(ADV, PollResult.OK, summary=PollSummary(ADV))], SendReport(), 0).endswith(
        "actions: none asked for by the rules\n"
    )


async def test_an_interrupted_write_is_told_once_across_restarts(tmp_path, sandbox, clock) -> None:
    settings = load_settings(config(tmp_path, sandbox.base_url))
    store = await Store.open(settings.storage.url, clock=clock)
    try:
        await store.upsert_advertisers([AdvertiserInfo(ADV, "Acme", None, "USD", "America/New_York")], clock.now())
        intent = ActionIntent(ADV, Level.AD, "a1", "pause", "why", {"operation_status": "ENABLE"},
                              {"operation_status": "DISABLE"})  # fmt: skip
        await store.journal.begin(intent, clock.now())
    finally:
        await store.close()
    for _ in range(3):  # three starts, none of which polls (so the entry stays unsettled)
        runtime = await open_runtime(settings, clock=clock, channels={"slack": Quiet()})
        await runtime.close()
        clock.advance(600)
    store = await Store.open(settings.storage.url, clock=clock)
    try:
        assert len(await ops(store, clock.now(), "action_failed")) == 1
    finally:
        await store.close()


async def test_a_write_in_flight_in_another_process_is_not_told_as_interrupted(tmp_path, sandbox, clock) -> None:
    """A replica (or ``once`` beside ``run``) starting while another process's poll is between its write and the
    answer: that entry is pending because it is in flight, not because a stop interrupted it."""
    settings = load_settings(config(tmp_path, sandbox.base_url))
    other = await Store.open(settings.storage.url, clock=clock, owner="replica-b.example:41")
    try:
        await other.upsert_advertisers([AdvertiserInfo(ADV, "Acme", None, "USD", "America/New_York")], clock.now())
        intent = ActionIntent(ADV, Level.AD, "a1", "pause", "why", {"operation_status": "ENABLE"},
                              {"operation_status": "DISABLE"})  # fmt: skip
        async with other.poll(ADV, clock.now()):  # the other process holds the advertiser's lease
            await other.journal.begin(intent, clock.now())
            runtime = await open_runtime(settings, clock=clock, channels={"slack": Quiet()})
            try:
                assert await ops(runtime.store, clock.now(), "action_failed") == []
            finally:
                await runtime.close()
    finally:
        await other.close()
    # the other process stopped without settling it: now it was interrupted, and the next start tells it
    runtime = await open_runtime(settings, clock=clock, channels={"slack": Quiet()})
    try:
        [told] = await ops(runtime.store, clock.now(), "action_failed")
        assert "interrupted" in told["detail"]
    finally:
        await runtime.close()
