"""Approve and Reject buttons, end to end: a rule with ``approve_within`` fires against the sandbox and its action
waits; the alert in Slack carries Approve / Reject; a click decides it through Steering (the guards re-run, the
journal records the Slack user as approver), the message says who decided, and an expired approval is refused and
the clicker told."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fake_socket_mode import BOT_TOKEN, FakeSocketMode, block_actions
from polling import PipelinePolls
from slackapp_factories import ADV, ALICE, CAMPAIGN, MakeApp, alert, campaign

from monitor.actions import ActionRunner, GuardSettings
from monitor.clock import FrozenClock
from monitor.domain import Hold, Level, Outcome
from monitor.domain.approvals import ApprovalState
from monitor.notify import Action, SlackChannel, Templates
from monitor.pipeline import Pipeline
from monitor.rules.loader import load_rules
from monitor.store.repo import Store

RULE = (
    f'[[rule]]\nname = "overspend"\nlevel = "campaign"\nwhen = "spend > 300"\nnotify = ["slack"]\naction = "pause"\n'
    f'approve_within = "30m"\n[rule.match]\nids = ["{CAMPAIGN}"]\n'
)


@pytest.fixture
async def waiting(fake: FakeSocketMode, make_app: MakeApp, store: Store, clock: FrozenClock, sandbox, make_client,
                  tmp_path: Path) -> tuple[str, dict]:  # fmt: skip
    """A pause awaiting approval (its id), and the alert about it as posted in Slack."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.toml").write_text(RULE)
    ruleset = load_rules(tmp_path / "rules", channels={"slack"})
    client = make_client()
    pipeline = Pipeline(client=client, store=store, rules=lambda: ruleset, clock=clock,
                        actions=ActionRunner(client, store.journal, clock, GuardSettings()))  # fmt: skip
    [taken] = (await PipelinePolls(pipeline, clock).poll(ADV)).actions
    assert taken.outcome is Outcome.AWAITING and taken.approval_id is not None

    async def client_of(advertiser_id: str):
        return client

    await make_app(client_of=client_of)
    await fake.connected()
    action = Action("pause", Outcome.AWAITING, taken.reason, approval_id=taken.approval_id)
    await SlackChannel(Templates(), token=BOT_TOKEN, channel="#ads-alerts", base_url=fake.api_url,
                       buttons=True).send(alert(campaign(action=action)))  # fmt: skip
    return taken.approval_id, fake.message()


def status(sandbox, clock: FrozenClock) -> str:
    return sandbox.world.operation_status(sandbox.world.find(CAMPAIGN), clock.now().timestamp())


async def test_approve_carries_the_action_out_recorded_with_the_slack_user(
    fake: FakeSocketMode, waiting: tuple[str, dict], store: Store, clock: FrozenClock, sandbox
) -> None:
    approval_id, message = waiting
    buttons = [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["Silence 2h", "Silence 24h", "Approve", "Reject"]
    assert status(sandbox, clock) == "ENABLE"
    assert await fake.acked(await fake.click(block_actions(message, "approve"))) < 3.0
    await fake.wait_until(lambda: bool(fake.updates), within=10)
    assert status(sandbox, clock) == "DISABLE"
    [entry] = await store.journal.history()
    assert entry.intent.approved_by == "slack:U0ALICE (alice)"
    decided = await store.approvals.get(approval_id)
    assert decided is not None and (decided.state, decided.decided_by) == (
        ApprovalState.APPROVED,
        entry.intent.approved_by,
    )
    [update] = fake.updates
    assert update["text"].startswith(f"Approved by <@{ALICE}>: ")
    left = [e["action_id"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert left == ["silence_2h", "silence_24h"]  # Approve and Reject went together


async def test_an_approval_a_guard_blocks_is_decided_and_the_message_says_why(
    fake: FakeSocketMode, waiting: tuple[str, dict], store: Store, clock: FrozenClock, sandbox
) -> None:
    """A person set the campaign's status since the rule asked: the approval is decided (blocked) and the message
    loses its Approve/Reject buttons and says why, instead of offering a decision that is no longer open."""
    approval_id, message = waiting
    asked = await store.approvals.get(approval_id)
    assert asked is not None
    now = clock.now()
    override = Hold(ADV, (Level.CAMPAIGN, asked.entity_id), "operation_status", now, now + timedelta(hours=2),
                    value="ENABLE")  # fmt: skip
    await store.holds.add([override], now)
    await fake.acked(await fake.click(block_actions(message, "approve")))
    await fake.wait_until(lambda: bool(fake.updates), within=10)
    decided = await store.approvals.get(approval_id)
    assert decided is not None and decided.state is ApprovalState.BLOCKED
    assert status(sandbox, clock) == "ENABLE" and fake.ephemerals == []
    [update] = fake.updates
    assert update["text"].startswith(f"Approved by <@{ALICE}>, not written: ") and "a guard said no" in update["text"]
    left = [e["action_id"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert left == ["silence_2h", "silence_24h"]


async def test_reject_drops_the_action_and_says_who(
    fake: FakeSocketMode, waiting: tuple[str, dict], store: Store, clock: FrozenClock, sandbox
) -> None:
    approval_id, message = waiting
    await fake.acked(await fake.click(block_actions(message, "reject")))
    await fake.wait_until(lambda: bool(fake.updates), within=10)
    decided = await store.approvals.get(approval_id)
    assert decided is not None and (decided.state, decided.decided_by) == (
        ApprovalState.REJECTED,
        "slack:U0ALICE (alice)",
    )
    assert status(sandbox, clock) == "ENABLE" and await store.journal.history() == []
    assert fake.updates[0]["text"].startswith(f"Rejected by <@{ALICE}>: ")
    await fake.acked(await fake.click(block_actions(message, "approve")))  # the old message, approved after all
    await fake.wait_until(lambda: bool(fake.ephemerals))
    assert "already rejected by slack:U0ALICE (alice)" in fake.ephemerals[0]["text"]
    assert status(sandbox, clock) == "ENABLE" and len(fake.updates) == 1


async def test_an_expired_approval_is_refused_and_the_clicker_told(
    fake: FakeSocketMode, waiting: tuple[str, dict], store: Store, clock: FrozenClock, sandbox
) -> None:
    approval_id, message = waiting
    clock.advance(31 * 60)  # approve_within is 30m
    await fake.acked(await fake.click(block_actions(message, "approve")))
    await fake.wait_until(lambda: bool(fake.ephemerals))
    [told] = fake.ephemerals
    assert told["user"] == ALICE and f"approval #{approval_id} expired at 2026-11-24 20:30" in told["text"]
    assert status(sandbox, clock) == "ENABLE" and await store.journal.history() == [] and fake.updates == []
