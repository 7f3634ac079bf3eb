"""The outbox sender against a real SQLite store and the local Slack API: delivery, retries, permanent errors,
independence of destinations, and no double delivery after an interrupted one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from notify_factories import ACME, NOW, alert, entity
from notify_fakes import FakeSlack, Mailbox

from monitor.clock import FrozenClock
from monitor.notify import (
    Backoff,
    EmailChannel,
    Message,
    OutboxSender,
    SlackChannel,
    Templates,
    delivery_id,
    notifications,
)
from monitor.scheduler import Scheduler
from monitor.store import Notification, OutboxMessage, OutboxStatus, Store, StoreUnavailableError

NO_JITTER = Backoff(first=timedelta(seconds=30), jitter=0.0)


def sender(store: Any, channels: dict[str, Any], clock: FrozenClock, **options: Any) -> OutboxSender:
    options.setdefault("backoff", NO_JITTER)
    return OutboxSender(store, channels, clock, rng=random.Random(7), **options)


async def enqueue(store: Store, *specs: str, message: Message | None = None, now: Any = NOW) -> None:
    await store.outbox.enqueue(notifications(message or alert(), specs or ("slack",)), now)


async def row(store: Store, row_id: int) -> OutboxMessage:
    found = await store.outbox.get(row_id)
    assert found is not None
    return found


async def test_due_rows_are_delivered_marked_sent_and_never_sent_again(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store, "slack", "slack:#other")
    out = sender(store, {"slack": make_slack()}, clock)
    report = await out.run_once(NOW)
    assert (report.fetched, report.sent, report.retrying, report.failed) == (2, 2, 0, 0)
    first, second = await row(store, 1), await row(store, 2)
    assert (first.status, first.sent_at, first.attempts, first.last_error) == (OutboxStatus.SENT, NOW, 1, None)
    assert second.status is OutboxStatus.SENT
    assert [r["metadata"]["event_payload"]["delivery_id"] for r in slack.requests] == [
        delivery_id(first),
        delivery_id(second),
    ]
    clock.advance(3600)
    assert (await out.run_once()).fetched == 0
    assert len(slack.requests) == 2 and len(slack.delivered) == 2


async def test_the_report_counts_results_per_channel_name_targets_included(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store, "slack", "slack:#other", "pager")
    report = await sender(store, {"slack": make_slack()}, clock).run_once(NOW)
    assert dict(report.by_channel) == {("slack", "sent"): 2, ("pager", "dropped"): 1}
    await enqueue(store, "slack:#ops")
    slack.answer(500)
    retried = await sender(store, {"slack": make_slack()}, clock).run_once(NOW)
    assert dict(retried.by_channel) == {("slack", "failed"): 1}
    report.add(retried)  # drain sums its runs
    assert dict(report.by_channel) == {("slack", "sent"): 2, ("pager", "dropped"): 1, ("slack", "failed"): 1}


async def test_drain_delivers_more_than_one_batch(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    for _ in range(5):
        await enqueue(store, "slack")  # five rows: one per enqueue
    report = await sender(store, {"slack": make_slack()}, clock, batch=2).drain(NOW)
    assert (report.fetched, report.sent) == (5, 5)
    assert len(slack.delivered) == 5


async def test_a_500_is_retried_with_back_off(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store)
    slack.answer(500)
    out = sender(store, {"slack": make_slack()}, clock)
    assert (await out.run_once()).retrying == 1
    pending = await row(store, 1)
    assert (pending.status, pending.attempts, pending.next_attempt_at) == (
        OutboxStatus.PENDING,
        1,
        NOW + timedelta(seconds=30),
    )
    assert pending.last_error is not None and pending.last_error.startswith("http_500: Slack failed")
    clock.advance(29)
    assert (await out.run_once()).fetched == 0
    clock.advance(1)
    assert (await out.run_once()).sent == 1
    assert (await row(store, 1)).status is OutboxStatus.SENT
    assert len(slack.requests) == 2 and len(slack.delivered) == 1
    assert slack.history_calls == 1  # a row that failed before is first looked for in the channel


def test_back_off_grows_exponentially_up_to_the_cap_with_jitter() -> None:
    backoff, rng = Backoff(first=timedelta(seconds=30), cap=timedelta(hours=1), jitter=0.0), random.Random(1)
    assert [backoff.delay(n, rng).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    jittered = {Backoff(jitter=0.2).delay(1, rng).total_seconds() for _ in range(50)}
    assert len(jittered) > 1 and all(24 <= s <= 36 for s in jittered)


async def test_a_429_waits_at_least_retry_after(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store)
    slack.answer(("429", 1), ("429", 45))  # slack-sdk retries the first itself, after its Retry-After
    out = sender(store, {"slack": make_slack()}, clock)
    started = time.monotonic()
    assert (await out.run_once()).retrying == 1
    assert time.monotonic() - started >= 1.0
    assert (await row(store, 1)).next_attempt_at == NOW + timedelta(seconds=45)  # Retry-After beats the 30 s back-off
    clock.advance(45)
    assert (await out.run_once()).sent == 1
    assert len(slack.delivered) == 1


async def test_the_other_rows_to_a_failing_destination_wait_with_it(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    for _ in range(3):
        await enqueue(store)
    await enqueue(store, "slack:#other")
    slack.answer(500)
    report = await sender(store, {"slack": make_slack()}, clock).run_once()
    assert (report.sent, report.retrying) == (1, 3)
    assert len(slack.requests) == 2  # one attempt for the failing destination, one for #other
    rows = [await row(store, i) for i in (1, 2, 3)]
    assert {r.next_attempt_at for r in rows} == {NOW + timedelta(seconds=30)}
    assert all("waiting for an earlier message" in (r.last_error or "") for r in rows[1:])
    assert (await row(store, 4)).status is OutboxStatus.SENT


async def test_a_permanent_error_fails_each_row_and_is_logged_once_until_it_clears(
    store: Store,
    slack: FakeSlack,
    make_slack: Callable[..., SlackChannel],
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for _ in range(3):
        await enqueue(store)
    slack.answer("invalid_auth", "invalid_auth", "invalid_auth")
    out = sender(store, {"slack": make_slack()}, clock)
    with caplog.at_level(logging.INFO, logger="monitor.notify.outbox"):
        report = await out.run_once()
        assert report.failed == 3 and len(slack.requests) == 3
        assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
            "slack: Slack refused the message for #ads-alerts: invalid_auth (the bot token is wrong or was revoked: "
            "check [slack] token) (logged once; such messages fail until it is fixed)"
        ]
        failed = await row(store, 3)
        assert failed.status is OutboxStatus.FAILED and (failed.last_error or "").startswith("invalid_auth: ")
        assert failed.next_attempt_at is None
        assert list(out.problems) == ["slack: invalid_auth"]
        await enqueue(store)
        assert (await out.run_once()).sent == 1
    assert out.problems == {}
    assert "slack: delivering again" in caplog.text


async def test_destinations_are_independent(
    store: Store,
    slack: FakeSlack,
    make_slack: Callable[..., SlackChannel],
    smtp: tuple[Mailbox, int],
    templates: Templates,
    clock: FrozenClock,
) -> None:
    mailbox, port = smtp
    email = EmailChannel(templates, host="127.0.0.1", port=port, from_addr="m@example.com", to=["ops@example.com"])
    await enqueue(store, "slack", "email")
    slack.answer("stall_before_accept")  # Slack takes the request and never answers
    report = await sender(store, {"slack": make_slack(), "email": email}, clock, send_timeout=1.0).run_once()
    assert (report.sent, report.retrying) == (1, 1)
    assert len(mailbox.messages) == 1
    slack_row = await row(store, 1)
    assert slack_row.status is OutboxStatus.PENDING and (slack_row.last_error or "").startswith("timeout: no answer")


async def test_an_unknown_channel_or_an_unreadable_row_fails(store: Store, clock: FrozenClock) -> None:
    await enqueue(store, "pager")
    await store.outbox.enqueue([Notification("slack", {"type": "alert", "version": 99})], NOW)
    report = await sender(store, {"slack": object()}, clock).run_once()
    assert report.failed == 2
    assert (await row(store, 1)).last_error == "no_channel: no notification channel named 'pager' is configured"
    assert (await row(store, 2)).last_error.startswith("bad_payload: unreadable outbox row: message version 99")  # type: ignore[union-attr]


async def test_it_gives_up_after_max_attempts(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store)
    slack.answer(500, 502)
    out = sender(store, {"slack": make_slack()}, clock, max_attempts=2)
    await out.run_once()
    clock.advance(30)
    assert (await out.run_once()).failed == 1
    gave_up = await row(store, 1)
    assert gave_up.status is OutboxStatus.FAILED and "gave up after 2 attempts" in (gave_up.last_error or "")


class Broken:
    async def send(self, message: Message, target: str | None, *, delivery_id: str | None = None) -> None:
        raise RuntimeError("boom")


async def test_a_bug_in_a_channel_does_not_lose_the_message(
    store: Store, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    await enqueue(store, "broken")
    assert (await sender(store, {"broken": Broken()}, clock).run_once()).retrying == 1
    pending = await row(store, 1)
    assert pending.status is OutboxStatus.PENDING and pending.last_error == "unexpected: RuntimeError: boom"
    assert any(r.exc_info for r in caplog.records)


# --- no double delivery ------------------------------------------------------------------------------------------


async def test_a_delivery_whose_answer_was_lost_is_found_in_slack_and_not_sent_again(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store)
    slack.answer("stall_after_accept")  # Slack posts it, the answer never comes back
    out = sender(store, {"slack": make_slack()}, clock, send_timeout=0.5)
    assert (await out.run_once()).retrying == 1
    slack.release.set()
    clock.advance(30)
    report = await out.run_once()
    assert (report.sent, report.already_delivered) == (0, 1)
    assert (await row(store, 1)).status is OutboxStatus.SENT
    assert len(slack.requests) == 1 and len(slack.delivered) == 1


async def test_after_a_restart_rows_already_in_slack_are_marked_not_reposted(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store, message=alert(entity("1")))
    await enqueue(store, message=alert(entity("2")))
    # a previous sender claimed it, posted it and died before marking it
    await store.outbox.claim_due(NOW, "sender-that-died", NOW + timedelta(seconds=60), limit=1)
    delivered_before_crash = await row(store, 1)
    await make_slack().send(alert(entity("1")), None, delivery_id=delivery_id(delivered_before_crash))
    clock.advance(60)  # its claim has run out
    report = await sender(store, {"slack": make_slack()}, clock).run_once()  # the restarted sender
    assert (report.sent, report.already_delivered) == (1, 1)
    assert len(slack.requests) == 2 and len(slack.delivered) == 2 and slack.history_calls == 1


async def test_an_incoming_webhook_cannot_be_checked_so_delivery_is_at_least_once(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store)
    hook = make_slack(webhook_url=slack.hook_url)
    await store.outbox.claim_due(NOW, "sender-that-died", NOW + timedelta(seconds=60))
    await hook.send(alert(), None)  # delivered by a sender that died before marking it
    clock.advance(60)  # its claim has run out
    assert (await sender(store, {"slack": hook}, clock).run_once()).sent == 1
    assert len(slack.delivered) == 2  # the documented at-least-once case


class FlakyOutbox:
    """The store's outbox, but the first mark_sent fails as a locked database would."""

    def __init__(self, outbox: Any) -> None:
        self._outbox = outbox
        self.failures = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outbox, name)

    async def mark_sent(self, message_id: int, now: Any, *, claimant: str) -> bool:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailableError("database is locked")
        return bool(await self._outbox.mark_sent(message_id, now, claimant=claimant))


async def test_a_delivery_that_could_not_be_recorded_is_recorded_later_not_resent(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store)
    flaky = type("FlakyStore", (), {"outbox": FlakyOutbox(store.outbox)})()
    out = sender(flaky, {"slack": make_slack()}, clock)
    with pytest.raises(StoreUnavailableError):
        await out.run_once()
    report = await out.run_once()
    assert (report.sent, report.already_delivered) == (0, 1)
    assert (await row(store, 1)).status is OutboxStatus.SENT and len(slack.requests) == 1


# --- running alongside polling -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def outbox_job(out: OutboxSender) -> AsyncIterator[Scheduler]:
    """The sender as the daemon runs it: the scheduler's ``outbox`` job calling ``run_once``, here every 0.05 s."""

    async def poll(advertiser_id: str) -> None:
        return None

    scheduler = Scheduler(
        poll=poll, interval=timedelta(hours=1), send_outbox=out.run_once, outbox_interval=timedelta(seconds=0.05)
    )
    scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.shutdown(wait_seconds=0.2)  # a stalled run is cancelled after that


async def test_the_outbox_job_delivers_rows_queued_while_it_runs(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    async with outbox_job(sender(store, {"slack": make_slack()}, clock)):
        await enqueue(store)
        await enqueue(store)
        for _ in range(100):
            if len(slack.delivered) == 2:
                break
            await asyncio.sleep(0.05)
    assert len(slack.delivered) == 2


async def test_an_unreachable_slack_does_not_hold_up_polling(
    store: Store, slack: FakeSlack, make_slack: Callable[..., SlackChannel], clock: FrozenClock
) -> None:
    await enqueue(store)
    slack.answer("stall_before_accept")
    async with outbox_job(sender(store, {"slack": make_slack(timeout=60)}, clock)):
        await asyncio.wait_for(slack.stalled.wait(), 5)
        started = time.monotonic()
        async with store.poll(ACME.id, NOW + timedelta(minutes=5)) as poll:  # a poll decides another alert meanwhile
            poll.enqueue(*notifications(alert(entity("9")), ["slack"]))
        assert time.monotonic() - started < 1.0
        assert (await row(store, 2)).status is OutboxStatus.PENDING
