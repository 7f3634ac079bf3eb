"""Operational alerts: pure decisions with their own cooldown, recovery messages, and the message in the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notify_factories import ACME, NOW

from monitor.domain import OpsKind, OpsState
from monitor.notify import OpsEvent, OpsPolicy, decide, notifications
from monitor.store import Store

H = timedelta(hours=1)
POLICY = OpsPolicy(cooldown=6 * H, cooldowns={OpsKind.RULES_RELOAD_FAILED: H}, unreachable_after=3)


def event(kind: OpsKind = OpsKind.TOKEN_REVOKED, failing: bool = True, failures: int = 1) -> OpsEvent:
    subject = "rules" if kind is OpsKind.RULES_RELOAD_FAILED else ACME.id
    return OpsEvent(kind, subject, failing, "TikTok API error 40105", ACME, failures)


def told(kind: OpsKind = OpsKind.TOKEN_REVOKED, at: object = NOW, since: object = NOW) -> OpsState:
    subject = "rules" if kind is OpsKind.RULES_RELOAD_FAILED else ACME.id
    return OpsState(kind, subject, since, notified=True, last_notified_at=at, detail="TikTok API error 40105")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "happened, previous, at, message, reason",
    [
        (event(), None, NOW, "problem", "new problem"),
        (event(), told(), NOW + 5 * H, None, "quiet until"),
        (event(), told(), NOW + 6 * H, "repeat", "still failing"),
        (event(OpsKind.RULES_RELOAD_FAILED), told(OpsKind.RULES_RELOAD_FAILED), NOW + H, "repeat", "still failing"),
        (event(failing=False), told(), NOW + 2 * H, "recovered", "recovered after 2h"),  # a duration, not 2:00:00
        (event(failing=False), None, NOW, None, "no problem"),
        (event(OpsKind.ADVERTISER_UNREACHABLE, failures=2), None, NOW, None, "2 of 3 failed polls"),
        (event(OpsKind.ADVERTISER_UNREACHABLE, failures=3), None, NOW, "problem", "new problem"),
        (
            event(OpsKind.ADVERTISER_UNREACHABLE, failing=False),
            OpsState(OpsKind.ADVERTISER_UNREACHABLE, ACME.id, NOW, failures=2),
            NOW + H,
            None,
            "cleared before it was told",
        ),
    ],
)
def test_decide(happened: OpsEvent, previous: OpsState | None, at: object, message: str | None, reason: str) -> None:
    decision = decide(happened, previous, at, POLICY)  # type: ignore[arg-type]
    assert reason in decision.reason
    if message is None:
        assert decision.message is None
        return
    sent = decision.message
    assert sent is not None and sent.kind is happened.kind and sent.subject == happened.subject
    assert sent.recovered == (message == "recovered") and sent.repeat == (message == "repeat")
    if message == "recovered":
        assert decision.state is None and sent.since == NOW and sent.detail == "TikTok API error 40105"
    else:
        assert decision.state is not None and decision.state.notified and decision.state.last_notified_at == at


def test_an_unreachable_advertiser_is_told_once_the_threshold_is_reached_then_recovers() -> None:
    state = None
    sent = []
    for poll, failures in enumerate([1, 2, 3, 4, 5]):
        decision = decide(
            event(OpsKind.ADVERTISER_UNREACHABLE, failures=failures),
            state,
            NOW + poll * 5 * timedelta(minutes=1),
            POLICY,
        )
        state = decision.state
        sent.append(decision.message)
    assert [m is not None for m in sent] == [False, False, True, False, False]
    assert sent[2].failures == 3 and sent[2].since == NOW  # type: ignore[union-attr]  # the first failed poll
    recovery = decide(event(OpsKind.ADVERTISER_UNREACHABLE, failing=False), state, NOW + H, POLICY)
    assert recovery.message is not None and recovery.message.recovered and recovery.state is None


async def test_a_decided_message_is_queued_in_the_outbox_under_its_ops_key(store: Store) -> None:
    decision = decide(event(), None, NOW, POLICY)
    assert decision.state is not None and decision.message is not None
    await store.outbox.enqueue(notifications(decision.message, ["slack"]), NOW)  # as Runtime does
    (row,) = await store.outbox.fetch_due(NOW)
    assert (row.key, row.advertiser_id, row.channel) == (f"_ops/token_revoked/{ACME.id}", ACME.id, "slack")
    assert (row.payload["type"], row.payload["kind"], row.payload["subject"]) == ("ops", "token_revoked", ACME.id)
