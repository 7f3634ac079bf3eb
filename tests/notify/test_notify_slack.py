"""Slack against a local Slack Web API: content, escaping, targets, retries and error classification."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from notify_factories import HOSTILE, NOW, alert, entity
from notify_fakes import FakeSlack, free_port

from monitor.domain import Outcome
from monitor.notify import Action, PermanentDeliveryError, SlackChannel, TransientDeliveryError
from monitor.notify.slack import EVENT_TYPE

OUR_LINK = re.compile(r"<https://ads\.tiktok\.com/[^<>|\s]+\|[^<>]*>")


async def test_a_message_arrives_as_block_kit_with_a_text_fallback_and_our_metadata(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel]
) -> None:
    await make_slack().send(alert(entity("1800000000000000001", "Summer Sale", 612.4)), None, delivery_id="tam-1-abc")
    (body,) = slack.requests
    assert body["channel"] == "#ads-alerts"
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert body["metadata"] == {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": "tam-1-abc"}}
    assert body["text"].startswith("*:rotating_light: Firing: overspend-no-conversions*")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    header, summary, campaign, context = body["blocks"]
    assert header["text"] == {
        "type": "plain_text",
        "text": ":rotating_light: Firing: overspend-no-conversions",
        "emoji": True,
    }
    assert summary["text"]["type"] == "mrkdwn" and "*Acme Outdoor US* (7000000000000000001)" in summary["text"]["text"]
    assert campaign["text"]["text"].startswith(
        "*<https://ads.tiktok.com/i18n/perf/campaign?aadvid=7000000000000000001&amp;keyword=1800000000000000001|Summer Sale>*"
    )
    assert "spend *612.40 USD* · conversion *0*" in campaign["text"]["text"]
    assert "first seen 2026-11-24 14:45 UTC-05:00" in context["elements"][0]["text"]
    assert len(slack.delivered) == 1


def block_texts(blocks: list[dict]) -> list[str]:
    texts = [b["text"]["text"] for b in blocks if "text" in b]
    return texts + [e["text"] for b in blocks for e in b.get("elements", ())]


async def test_hostile_names_cannot_mention_link_or_format(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel]
) -> None:
    await make_slack().send(alert(entity("1", HOSTILE), entity("2", "Brand <@U123> <#C999> &amp;")), None)
    (body,) = slack.requests
    texts = [body["text"], *block_texts(body["blocks"])]
    assert len(texts) == 6
    for text in texts:
        outside_our_links = OUR_LINK.sub("", text)
        assert "<" not in outside_our_links and ">" not in outside_our_links, text
    assert "Retargeting &lt;!channel&gt; &amp; &lt;b&gt;VIP&lt;/b&gt; &lt;https://evil|click&gt;" in body["text"]
    assert "Brand &lt;@U123&gt; &lt;#C999&gt; &amp;amp;" in body["text"]  # shows literally as typed


async def test_a_target_picks_another_channel(slack: FakeSlack, make_slack: Callable[..., SlackChannel]) -> None:
    await make_slack().send(alert(), "#other")
    assert slack.requests[0]["channel"] == "#other"
    assert list(slack.history) == ["C0OTHER001"]


async def test_429_is_retried_by_slack_sdk_after_retry_after(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel]
) -> None:
    slack.answer(("429", 1))
    started = time.monotonic()
    await make_slack().send(alert(), None)
    assert time.monotonic() - started >= 1.0
    assert len(slack.requests) == 2 and len(slack.delivered) == 1


async def test_429_beyond_the_sdk_retries_is_transient_with_retry_after(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel]
) -> None:
    slack.answer(("429", 1), ("429", 7))
    with pytest.raises(TransientDeliveryError) as caught:
        await make_slack().send(alert(), None)
    assert caught.value.code == "ratelimited" and caught.value.retry_after == 7.0
    assert slack.delivered == []


@pytest.mark.parametrize("answer, code", [(500, "http_500"), (503, "http_503"), ("internal_error", "internal_error")])
async def test_server_errors_are_transient(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel], answer: object, code: str
) -> None:
    slack.answer(answer)
    with pytest.raises(TransientDeliveryError) as caught:
        await make_slack().send(alert(), None)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "setup, code, hint",
    [
        ({"token": "xoxb-wrong"}, "invalid_auth", "check [slack] token"),
        ({"channel": "#nope"}, "channel_not_found", "invite the bot to private channels"),
        ({"channel": "#private"}, "not_in_channel", "/invite"),
    ],
)
async def test_configuration_errors_are_permanent_with_a_hint(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel], setup: dict[str, str], code: str, hint: str
) -> None:
    with pytest.raises(PermanentDeliveryError) as caught:
        await make_slack(**setup).send(alert(), None)
    assert caught.value.code == code and hint in str(caught.value)
    assert "xoxb" not in str(caught.value)


async def test_refused_blocks_fall_back_to_the_text_alone(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel]
) -> None:
    slack.answer("invalid_blocks")
    await make_slack().send(alert(), None)
    assert "blocks" in slack.requests[0] and "blocks" not in slack.requests[1]
    assert len(slack.delivered) == 1


async def test_an_unreachable_slack_is_transient(make_slack: Callable[..., SlackChannel]) -> None:
    channel = make_slack(base_url=f"http://127.0.0.1:{free_port()}/api/")
    with pytest.raises(TransientDeliveryError) as caught:
        await channel.send(alert(), None)
    assert caught.value.code == "network"


async def test_check_verifies_the_token(make_slack: Callable[..., SlackChannel]) -> None:
    await make_slack().check()
    with pytest.raises(PermanentDeliveryError, match="invalid_auth"):
        await make_slack(token="xoxb-wrong").check()


# --- incoming webhook -------------------------------------------------------------------------------------------


async def test_incoming_webhook_posts_blocks_and_text(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel]
) -> None:
    await make_slack(webhook_url=slack.hook_url).send(alert(entity("1", HOSTILE)), None, delivery_id="tam-9-x")
    (body,) = slack.requests
    assert body["blocks"][0]["type"] == "header" and "&lt;!channel&gt;" in body["text"]
    assert "metadata" not in body and len(slack.delivered) == 1


@pytest.mark.parametrize(
    "answer, error, code",
    [
        (500, TransientDeliveryError, "internal_error"),
        (("429", 2), TransientDeliveryError, "rate_limited"),
        ("no_service", PermanentDeliveryError, "no_service"),
        ("invalid_token", PermanentDeliveryError, "invalid_token"),
    ],
)
async def test_incoming_webhook_errors_are_classified(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel], answer: object, error: type, code: str
) -> None:
    slack.answer(answer, answer)
    with pytest.raises(error) as caught:
        await make_slack(webhook_url=slack.hook_url, rate_limit_retries=0).send(alert(), None)
    assert caught.value.code == code


async def test_incoming_webhook_cannot_take_a_target(slack: FakeSlack, make_slack: Callable[..., SlackChannel]) -> None:
    with pytest.raises(PermanentDeliveryError, match="needs a bot token"):
        await make_slack(webhook_url=slack.hook_url).send(alert(), "#other")
    assert await make_slack(webhook_url=slack.hook_url).find_delivered(None, NOW, ["x"]) is None


# --- reading back what was delivered -----------------------------------------------------------------------------


async def test_find_delivered_reads_the_channel_history_by_name_or_id(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel]
) -> None:
    channel = make_slack()
    for n in range(3):
        await channel.send(alert(), None, delivery_id=f"tam-{n}")
    await channel.send(alert(), "#other", delivery_id="tam-other")
    since = NOW.replace(year=2000)
    fresh = make_slack()  # a new process: knows no channel ids yet
    assert await fresh.find_delivered(None, since, ["tam-0", "tam-2", "tam-7"]) == {"tam-0", "tam-2"}
    assert await fresh.find_delivered("C0OTHER001", since, ["tam-other", "tam-0"]) == {"tam-other"}
    assert await fresh.find_delivered("#unknown", since, ["tam-0"]) is None


async def test_find_delivered_pages_through_history(slack: FakeSlack, make_slack: Callable[..., SlackChannel]) -> None:
    channel = make_slack(history_pages=5)
    for n in range(450):  # three pages of 200
        slack.history.setdefault("C0ADSALERT", []).append(
            {
                "ts": f"{time.time() + n:.6f}",
                "metadata": {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": f"d{n}"}},
            }
        )
    assert await channel.find_delivered(None, NOW - timedelta(days=3650), ["d0", "d449"]) == {"d0", "d449"}
    assert slack.history_calls == 3


async def test_without_history_scope_delivery_is_at_least_once_and_said_once(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel], caplog: pytest.LogCaptureFixture
) -> None:
    slack.history_error = "missing_scope"
    channel = make_slack()
    with caplog.at_level(logging.WARNING, logger="monitor.notify.slack"):
        assert await channel.find_delivered(None, NOW, ["x"]) is None
        assert await channel.find_delivered(None, NOW, ["y"]) is None
    assert len([r for r in caplog.records if "at-least-once" in r.getMessage()]) == 1


async def test_an_action_is_escaped_once(slack: FakeSlack, make_slack: Callable[..., SlackChannel]) -> None:
    done = Action("pause", Outcome.DONE, "operation_status ENABLE -> DISABLE", 7)
    await make_slack().send(alert(entity("1", "Summer Sale", action=done)), None)
    (body,) = slack.requests
    [block] = [t for t in block_texts(body["blocks"]) if "Summer Sale" in t]
    for text in [body["text"], block]:
        assert "ENABLE -&gt; DISABLE" in text  # Slack shows "->"
        assert "&amp;gt;" not in text


async def test_a_name_is_one_line_without_bidi_controls_and_never_pushes_out_the_id_or_values(
    slack: FakeSlack, make_slack: Callable[..., SlackChannel]
) -> None:
    forged = "Zx10\n• Zx10 injected line (campaign 1): spend 0.00 USD"
    reordering = "Sale \u202eelas\u2066 tnuocsid"
    huge = "Q" * 10_000
    done = Action("pause", Outcome.DONE, "operation_status ENABLE -> DISABLE", 7)
    message = alert(entity("11", forged), entity("12", reordering), entity("13", huge, 900.0, action=done))
    await make_slack().send(message, None)
    (body,) = slack.requests
    lines = body["text"].splitlines()
    assert not [line for line in lines if line.startswith("• Zx10 injected")]  # no forged bullet line
    assert "Zx10 • Zx10 injected line" in body["text"]  # the name is still there, on its own bullet's line
    texts = [body["text"], *block_texts(body["blocks"])]
    assert not [t for t in texts if any(c in t for c in "\u202e\u2066")]
    [huge_block] = [t for t in block_texts(body["blocks"]) if "QQQ" in t]
    assert "(campaign 13)" in huge_block and "*900.00 USD*" in huge_block and "done" in huge_block
    assert len(body["text"]) <= 40_000 and all(len(t) <= 3000 for t in block_texts(body["blocks"]))
