"""The buttons on messages and what a click says, pure: which message carries which button with which value,
the message after a click, a click's payload read into a command (and payloads that are not ours refused); and
the buttons as SlackChannel posts them (only when something takes the clicks)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from fake_socket_mode import BOT_TOKEN, FakeSocketMode, block_actions
from slackapp_factories import ADV, CAMPAIGN, NOW, RULE, alert, campaign, paused

from monitor.domain import Matcher, OpsKind, Outcome
from monitor.notify import Action, AlertKind, OperationalMessage, SlackChannel, Templates
from monitor.slackapp.buttons import BLOCK_ID, VALUE_LIMIT, actions_block, after_click, buttons_of
from monitor.slackapp.interactions import (
    ApprovalCommand,
    InteractionError,
    RevertCommand,
    SilenceCommand,
    command_of,
    parse_click,
)


def ids_and_values(message) -> list[tuple[str, str, dict]]:
    return [(b["action_id"], b["text"]["text"], json.loads(b["value"])) for b in buttons_of(message)]


def test_a_firing_alert_offers_silences_of_its_entity_and_a_group_those_of_the_rule_for_the_advertiser() -> None:
    one = {"rule": "overspend", "advertiser": ADV, "level": "campaign", "entity": CAMPAIGN}
    assert ids_and_values(alert()) == [("silence_2h", "Silence 2h", one), ("silence_24h", "Silence 24h", one)]
    group = alert(campaign(), campaign("1801100000000000002"))
    assert [v for _, _, v in ids_and_values(group)] == [{"rule": "overspend", "advertiser": ADV}] * 2
    assert ids_and_values(alert(kind=AlertKind.REPEAT))[0][2] == one
    assert buttons_of(alert(kind=AlertKind.RESOLVED)) == []  # nothing to silence any more
    ops = OperationalMessage(OpsKind.TOKEN_REVOKED, ADV, "revoked", NOW, NOW)
    assert buttons_of(ops) == [] and actions_block(ops) == []


def test_an_action_carried_out_offers_revert_of_its_journal_entry_and_only_that() -> None:
    message = alert(campaign(action=paused(12)))
    assert ids_and_values(message)[2:] == [("revert", "Revert", {"journal": 12})]
    two = alert(campaign(action=paused(12)), campaign("1801100000000000002", paused(13)))
    assert [t for _, t, _ in ids_and_values(two)][2:] == ["Revert #12", "Revert #13"]
    for outcome in (Outcome.DRY_RUN, Outcome.SKIPPED, Outcome.FAILED):  # nothing was changed: nothing to revert
        assert [a for a, _, _ in ids_and_values(alert(campaign(action=paused(12, outcome))))] == [
            "silence_2h", "silence_24h"]  # fmt: skip
    [block] = actions_block(message)
    assert block["type"] == "actions" and block["block_id"] == BLOCK_ID and len(block["elements"]) == 3


def test_an_action_awaiting_approval_offers_approve_and_reject_of_its_approval() -> None:
    waiting = Action("pause", Outcome.AWAITING, "approve with ...", approval_id="12-1")
    assert ids_and_values(alert(campaign(action=waiting)))[2:] == [
        ("approve", "Approve", {"approval": "12-1"}),
        ("reject", "Reject", {"approval": "12-1"}),
    ]
    two = alert(campaign(action=waiting), campaign("1801100000000000002", replace(waiting, approval_id="12-2")))
    assert [t for _, t, _ in ids_and_values(two)][2:] == [
        "Approve #12-1",
        "Reject #12-1",
        "Approve #12-2",
        "Reject #12-2",
    ]
    click = parse_click(payload(alert(campaign(action=waiting)), "reject"))
    assert click.command == ApprovalCommand("12-1", approve=False)
    with pytest.raises(InteractionError, match="bad approve button: no approval id"):
        command_of("approve", '{"approval": 12}')


def test_a_button_whose_value_would_pass_slacks_limit_is_left_out() -> None:
    long_rule = alert(rule=replace(RULE, name="r" * VALUE_LIMIT))
    assert buttons_of(long_rule) == []
    assert all(len(b["value"]) <= VALUE_LIMIT for b in buttons_of(alert(campaign(action=paused(1)))))


def test_after_a_click_the_button_goes_and_a_line_says_who_did_what() -> None:
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "x"}}, *actions_block(alert())]
    value = buttons_of(alert())[0]["value"]
    after = after_click(blocks, "silence_2h", value, "Silenced 2h by <@U1>")
    assert after[0] == blocks[0]
    assert [e["action_id"] for e in after[1]["elements"]] == ["silence_24h"]
    assert after[2] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Silenced 2h by <@U1>"}]}
    only = after_click(after[:2], "silence_24h", value, "Silenced 24h by <@U1>")
    assert [b["type"] for b in only] == ["header", "context"]  # an emptied actions block goes


def payload(message=None, action_id: str = "silence_2h", **kw):
    message = message or alert()
    posted = {"ts": "1764014400.000100", "channel": "C0ADSALERT", "text": "t", "blocks": actions_block(message)}
    return block_actions(posted, action_id, **kw)


def test_a_click_is_read_into_who_where_and_which_command() -> None:
    click = parse_click(payload())
    assert (click.user_id, click.user_name, click.by) == ("U0ALICE", "alice", "slack:U0ALICE (alice)")
    assert (click.channel, click.ts, click.action_id) == ("C0ADSALERT", "1764014400.000100", "silence_2h")
    assert click.command == SilenceCommand(
        (Matcher("rule", "overspend"), Matcher("advertiser", ADV), Matcher("level", "campaign"),
         Matcher("entity", CAMPAIGN)), timedelta(hours=2), "2h")  # fmt: skip
    assert parse_click(payload(alert(campaign(action=paused(7))), "revert")).command == RevertCommand(7)
    forged = parse_click(payload(username="mallory\n[slack:U0ALICE (alice)]\u202e"))
    assert forged.by == "slack:U0ALICE (mallory [slack:U0ALICE (alice)])"  # a Slack name is data: one line, inert


@pytest.mark.parametrize(
    ("action_id", "value", "why"),
    [
        ("silence_2h", "not json", "not a JSON object"),
        ("silence_2h", '{"advertiser": "1"}', "no rule"),
        ("silence_2h", '{"rule": "r", "level": "planet"}', "level must be one of"),
        ("revert", '{"journal": "7"}', "no journal id"),
        ("revert", '{"journal": true}', "no journal id"),
        ("launch_rocket", "{}", "unknown button 'launch_rocket'"),
    ],
)
def test_a_button_that_is_not_ours_is_refused_with_the_reason(action_id: str, value: str, why: str) -> None:
    with pytest.raises(InteractionError, match=why):
        command_of(action_id, value)


def test_payloads_that_are_no_click_are_refused() -> None:
    good = payload()
    for broken, why in (
        ({**good, "type": "view_submission"}, "not a button click"),
        ({**good, "user": {}}, "without a user id"),
        ({**good, "actions": []}, "without an action"),
        ({**good, "channel": None, "container": {}}, "on no message"),
    ):
        with pytest.raises(InteractionError, match=why):
            parse_click(broken)


async def test_slack_channel_posts_the_buttons_only_when_something_takes_the_clicks(fake: FakeSocketMode) -> None:
    for buttons in (True, False):
        channel = SlackChannel(Templates(), token=BOT_TOKEN, channel="#ads-alerts", base_url=fake.api_url,
                               buttons=buttons)  # fmt: skip
        await channel.send(alert(campaign(action=paused(3))))
        kinds = [b["type"] for b in fake.message()["blocks"]]
        assert kinds[-1] == "actions" if buttons else "actions" not in kinds
    assert [b["action_id"] for b in fake.posted[0]["blocks"][-1]["elements"]] == ["silence_2h", "silence_24h", "revert"]
    many = alert(*(campaign(str(1801100000000000000 + i)) for i in range(60)))
    await SlackChannel(Templates(), token=BOT_TOKEN, channel="#a", base_url=fake.api_url, buttons=True).send(many)
    assert len(fake.message()["blocks"]) == 50 and fake.message()["blocks"][-1]["type"] == "actions"


def test_the_app_manifest_asks_for_what_the_buttons_use() -> None:
    """docs/slack-app-manifest.yaml: the scopes of the Web API methods the monitor calls, Socket Mode and
    interactivity on (read as text: the suite has no YAML parser)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "slack-app-manifest.yaml").read_text()
    settings = {k: v for k, v in re.findall(r"^ +(\w+): *(\w+)", text, re.MULTILINE)}
    assert settings["socket_mode_enabled"] == "true" and settings["is_enabled"] == "true"
    scopes = re.findall(r"^ +- ([a-z]+:[a-z]+)", text, re.MULTILINE)
    assert {"chat:write", "usergroups:read"} <= set(scopes)
