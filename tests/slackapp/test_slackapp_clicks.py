"""Clicks through Socket Mode, end to end: the fake Slack sends ``interactive`` envelopes over a real WebSocket to
the buttons' app, which acknowledges each within 3 seconds, makes the change through Steering in a real store
(recorded with the Slack user), and updates the message to say who did what; a user outside the allowlist is
refused and told. Reverts go to the sandbox."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fake_socket_mode import APP_TOKEN, BOT_TOKEN, FakeSocketMode, block_actions
from polling import PipelinePolls
from slack_sdk.web.async_client import AsyncWebClient
from slackapp_factories import ADV, ALICE, BOB, CAMPAIGN, MALLORY, OPS_GROUP, MakeApp, alert, campaign, paused

from monitor.actions import ActionRunner, GuardSettings
from monitor.clock import FrozenClock
from monitor.domain import Matcher
from monitor.notify import SlackChannel, Templates
from monitor.pipeline import Pipeline
from monitor.rules.loader import load_rules
from monitor.slackapp.allowlist import Allowlist
from monitor.slackapp.handlers import ClickHandler
from monitor.slackapp.socket import SlackApp
from monitor.steering import Steering
from monitor.store.repo import Store


async def post(fake: FakeSocketMode, message) -> dict:
    """Post ``message`` as the monitor does with buttons on; the message as Slack keeps it."""
    await SlackChannel(Templates(), token=BOT_TOKEN, channel="#ads-alerts", base_url=fake.api_url,
                       buttons=True).send(message)  # fmt: skip
    return fake.message()


@pytest.mark.parametrize(("action_id", "hours"), [("silence_2h", 2), ("silence_24h", 24)])
async def test_a_silence_button_silences_the_entity_records_the_user_and_says_so(
    fake: FakeSocketMode, make_app: MakeApp, store: Store, clock: FrozenClock, action_id: str, hours: int
) -> None:
    await make_app()
    await fake.connected()
    message = await post(fake, alert())
    envelope = await fake.click(block_actions(message, action_id))
    assert await fake.acked(envelope) < 3.0
    await fake.wait_until(lambda: bool(fake.updates))
    [silence] = await store.silences.active(clock.now())
    assert silence.created_by == "slack:U0ALICE (alice)" and silence.ends_at - silence.starts_at == timedelta(
        hours=hours
    )
    assert silence.matchers == (Matcher("rule", "overspend"), Matcher("advertiser", ADV), Matcher("level", "campaign"),
                                Matcher("entity", CAMPAIGN))  # fmt: skip
    [update] = fake.updates
    assert (update["channel"], update["ts"]) == (message["channel"], message["ts"])
    until = (clock.now() + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M UTC")
    line = f"Silenced {hours}h by <@{ALICE}> (silence #{silence.id}, until {until})"
    assert update["text"] == line and update["blocks"][-1]["elements"][0]["text"] == line
    left = [e["action_id"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert left == [a for a in ("silence_2h", "silence_24h") if a != action_id]  # the clicked button went
    assert update["blocks"][:-2] == message["blocks"][:-1]  # the rest of the message is as it was
    assert fake.ephemerals == []


async def test_a_user_outside_the_allowlist_is_refused_and_told_and_nothing_changes(
    fake: FakeSocketMode, make_app: MakeApp, store: Store, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.groups[OPS_GROUP] = [BOB]
    await make_app()
    await fake.connected()
    message = await post(fake, alert())
    envelope = await fake.click(block_actions(message, "silence_24h", user=MALLORY, username="mallory"))
    assert await fake.acked(envelope) < 3.0
    await fake.wait_until(lambda: bool(fake.ephemerals))
    [told] = fake.ephemerals
    assert (told["channel"], told["user"]) == (message["channel"], MALLORY)  # only the clicker sees it
    assert f"your Slack user ({MALLORY}) is not in" in told["text"] and "Nothing was changed" in told["text"]
    assert await store.silences.list(clock.now(), include_expired=True) == [] and fake.updates == []
    assert "refused silence_24h from slack:U0MALLORY (mallory)" in caplog.text


async def test_a_member_of_an_allowed_group_may_click_and_the_groups_members_are_kept_briefly(
    fake: FakeSocketMode, make_app: MakeApp, store: Store, clock: FrozenClock
) -> None:
    fake.groups[OPS_GROUP] = [BOB]
    await make_app()
    await fake.connected()
    message = await post(fake, alert())
    for action_id in ("silence_2h", "silence_24h"):
        await fake.acked(await fake.click(block_actions(message, action_id, user=BOB, username="bob")))
    await fake.wait_until(lambda: len(fake.updates) == 2)
    assert sorted(s.created_by for s in await store.silences.active(clock.now())) == ["slack:U0BOB (bob)"] * 2
    assert fake.group_calls == 1  # the second click used the members kept
    fake.groups[OPS_GROUP] = []  # bob leaves the group: refused once the kept members are old
    clock.advance(61)
    await fake.acked(await fake.click(block_actions(message, "silence_2h", user=BOB, username="bob")))
    await fake.wait_until(lambda: bool(fake.ephemerals))
    assert fake.group_calls == 2 and len(fake.updates) == 2


async def test_revert_undoes_the_action_through_the_guards_journaled_with_the_slack_user(
    fake: FakeSocketMode, make_app: MakeApp, store: Store, clock: FrozenClock, sandbox, make_client, tmp_path
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.toml").write_text(
        f'[[rule]]\nname = "overspend"\nlevel = "campaign"\nwhen = "spend > 300"\nnotify = ["slack"]\n'
        f'action = "pause"\n[rule.match]\nids = ["{CAMPAIGN}"]\n'
    )
    ruleset = load_rules(tmp_path / "rules", channels={"slack"})
    client = make_client()
    pipeline = Pipeline(client=client, store=store, rules=lambda: ruleset, clock=clock,
                        actions=ActionRunner(client, store.journal, clock, GuardSettings()))  # fmt: skip
    [taken] = (await PipelinePolls(pipeline, clock).poll(ADV)).actions
    entity = sandbox.world.find(CAMPAIGN)
    assert sandbox.world.operation_status(entity, clock.now().timestamp()) == "DISABLE"

    async def client_of(advertiser_id: str):
        assert advertiser_id == ADV
        return client

    await make_app(client_of=client_of)
    await fake.connected()
    message = await post(fake, alert(campaign(action=paused(taken.journal_id))))
    clock.advance(60)
    click = block_actions(message, "revert")
    await fake.acked(await fake.click(click))
    await fake.wait_until(lambda: bool(fake.updates))
    assert sandbox.world.operation_status(entity, clock.now().timestamp()) == "ENABLE"
    [update] = fake.updates
    assert update["text"].startswith(f"Reverted by <@{ALICE}>: #{taken.journal_id} pause campaign {CAMPAIGN}: reverted")
    assert not [b for b in update["blocks"] if b["type"] == "actions" and "revert" in str(b)]
    [undo] = [e for e in await store.journal.history(limit=None) if e.intent.reverts == taken.journal_id]
    assert "on request of slack:U0ALICE (alice)" in undo.intent.reason

    await fake.acked(await fake.click(click))  # the old message clicked again (another client's stale view)
    await fake.wait_until(lambda: bool(fake.ephemerals))
    assert fake.ephemerals[0]["text"] == f"not reverted: #{taken.journal_id} was already reverted by #{undo.id}"
    assert len(fake.updates) == 1


async def test_the_acknowledgement_comes_before_the_work_however_long_that_takes(
    fake: FakeSocketMode, make_app: MakeApp, store: Store, clock: FrozenClock
) -> None:
    fake.groups[OPS_GROUP], fake.group_delay = [BOB], 4.0  # Slack is slow to list the group: past the 3 s
    await make_app()
    await fake.connected()
    message = await post(fake, alert())
    envelope = await fake.click(block_actions(message, "silence_2h", user=BOB, username="bob"))
    assert await fake.acked(envelope) < 1.0
    assert fake.updates == []  # still working
    await fake.wait_until(lambda: bool(fake.updates), within=10)
    assert [s.created_by for s in await store.silences.active(clock.now())] == ["slack:U0BOB (bob)"]


async def test_a_click_is_acknowledged_before_the_work_and_a_failure_is_told(
    fake: FakeSocketMode, make_app: MakeApp, store: Store
) -> None:
    await make_app()
    await fake.connected()
    message = await post(fake, alert())
    async with store.engine.begin() as conn:  # the database breaks: the click is still acknowledged, the clicker told
        await conn.execute(sa.text("DROP TABLE silences"))
    envelope = await fake.click(block_actions(message, "silence_2h"))
    assert await fake.acked(envelope) < 3.0
    await fake.wait_until(lambda: bool(fake.ephemerals))
    assert "Nothing was changed: the monitor failed" in fake.ephemerals[0]["text"] and fake.updates == []


async def test_an_app_token_slack_refuses_leaves_the_buttons_off_and_says_why(
    fake: FakeSocketMode, store: Store, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.refuse_app_token = "invalid_auth"

    async def members_of(group: str) -> list[str]:
        return []

    handler = ClickHandler(Steering(store, clock, GuardSettings(), members_of),  # type: ignore[arg-type]
                           AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url),
                           Allowlist([ALICE], [], members_of, clock))  # fmt: skip
    app = SlackApp(APP_TOKEN, fake.api_url, handler)
    with caplog.at_level(logging.ERROR):
        assert not await app.start()
    assert "Slack refused [slack] app_token (invalid_auth)" in caplog.text and APP_TOKEN not in caplog.text
    assert fake.connections == []
    await app.close()


async def test_any_replica_handles_any_click(fake: FakeSocketMode, make_app: MakeApp, database_url: str, clock) -> None:
    """Two replicas, each with its own connection and its own handle on one database: Slack hands each envelope to
    one connection; each click is handled by the replica that got it, and both see every change."""
    first = await Store.open(database_url, clock=clock)
    second = await Store.open(database_url, clock=clock)
    try:
        await make_app(on=first)
        await fake.connected(1)
        await make_app(on=second)
        await fake.connected(2)
        message = await post(fake, alert())
        one = await fake.click(block_actions(message, "silence_2h"), connection=0)
        two = await fake.click(block_actions(message, "silence_24h", user=ALICE), connection=1)
        await fake.acked(one), await fake.acked(two)
        assert (fake.ack_connection[one], fake.ack_connection[two]) == (0, 1)
        await fake.wait_until(lambda: len(fake.updates) == 2)
        for store in (first, second):
            silences = await store.silences.active(clock.now())
            assert sorted(s.ends_at - s.starts_at for s in silences) == [timedelta(hours=2), timedelta(hours=24)]
        assert sorted(u["text"].split(" (")[1] for u in fake.updates)[0].startswith("silence #1")
    finally:
        await first.close()
        await second.close()
