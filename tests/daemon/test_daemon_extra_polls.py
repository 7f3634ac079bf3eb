"""Polls outside the schedule (Scheduler.poll_extra, monitor.pollsoon.PollSoon): an extra poll while one runs makes
exactly one more right after it, never two at once; PollSoon asks only for advertisers polled here, keeps one
wish per advertiser, waits out the gap after a poll, and asks for nothing without budget room."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from monitor.clock import SystemClock
from monitor.phases import next_poll_at
from monitor.polls import PollOutcome, PollResult
from monitor.pollsoon import ADAPTIVE, WEBHOOK, PollSoon, Wish
from monitor.scheduler import Scheduler

ADV = "7000000000000000001"


def quiet_interval() -> timedelta:
    """An interval whose next scheduled poll of ADV is more than a minute away: only extra polls in the test."""
    now = datetime.now(UTC)
    for hours in range(23, 1, -1):
        if next_poll_at(ADV, timedelta(hours=hours), now) - now > timedelta(minutes=1):
            return timedelta(hours=hours)
    raise AssertionError("no interval keeps the scheduled poll away")


async def test_an_extra_poll_while_one_runs_makes_one_more_after_it_never_two_at_once() -> None:
    running = 0
    most = 0
    started: list[float] = []
    release = asyncio.Event()

    async def poll(advertiser_id: str) -> PollOutcome:
        nonlocal running, most
        running += 1
        most = max(most, running)
        started.append(asyncio.get_running_loop().time())
        if len(started) == 1:
            await release.wait()  # the first poll runs until the test lets it end
        running -= 1
        return PollOutcome(advertiser_id, PollResult.OK)

    done: list[PollOutcome] = []
    scheduler = Scheduler(poll=poll, interval=quiet_interval(), advertiser_ids=[ADV], on_poll_done=[done.append])
    scheduler.start()
    try:
        scheduler.poll_extra(ADV)
        await asyncio.sleep(0.05)
        assert len(started) == 1
        for _ in range(5):  # a burst of asks while it runs
            scheduler.poll_extra(ADV)
        scheduler.poll_extra("someone else")  # not polled here: ignored
        await asyncio.sleep(0.05)
        assert len(started) == 1
        release.set()
        async with asyncio.timeout(5):
            while len(done) < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert len(started) == 2 and most == 1 and len(done) == 2
    finally:
        await scheduler.shutdown(1.0)


class FakeScheduler:
    def __init__(self) -> None:
        self.polled: list[tuple[str, float]] = []

    def poll_now(self, advertiser_id: str) -> None:
        self.polled.append((advertiser_id, asyncio.get_running_loop().time()))


def soon(fake: FakeScheduler, *, room: bool = True, gap: float = 0.3) -> tuple[PollSoon, list[str]]:
    counted: list[str] = []
    interval = quiet_interval()
    return (
        PollSoon(
            poll_now=fake.poll_now,
            watched=lambda advertiser_id: advertiser_id == ADV,
            room=lambda: room,
            interval=lambda: interval,
            floor=lambda: timedelta(seconds=gap),
            clock=SystemClock(),
            on_extra=counted.append,
        ),
        counted,
    )


async def test_poll_soon_bounds_what_it_asks_for() -> None:
    fake = FakeScheduler()
    coordinator, counted = soon(fake)
    loop = asyncio.get_running_loop()
    assert coordinator.ask("someone else", Wish(WEBHOOK)) is None  # not polled here
    coordinator.poll_done(PollOutcome(ADV, PollResult.OK))  # a poll just ended: the next waits for the gap
    asked_at = loop.time()
    assert coordinator.ask(ADV, Wish(WEBHOOK)) is not None
    assert coordinator.ask(ADV, Wish(WEBHOOK)) is None  # one set already
    await asyncio.sleep(0.5)
    [(advertiser_id, at)] = fake.polled
    assert advertiser_id == ADV and at - asked_at >= 0.28
    assert counted == [WEBHOOK]
    # adaptive: at most two per interval (one to measure a pace, one at the crossing)
    assert coordinator.ask(ADV, Wish(ADAPTIVE)) is not None
    await asyncio.sleep(0.05)
    assert coordinator.ask(ADV, Wish(ADAPTIVE)) is not None
    await asyncio.sleep(0.05)
    assert coordinator.ask(ADV, Wish(ADAPTIVE)) is None
    await asyncio.sleep(0.05)
    assert len(fake.polled) == 3 and counted == [WEBHOOK, ADAPTIVE, ADAPTIVE]
    coordinator.close()


async def test_poll_soon_asks_for_nothing_without_budget_room() -> None:
    fake = FakeScheduler()
    coordinator, counted = soon(fake, room=False)
    assert coordinator.ask(ADV, Wish(WEBHOOK)) is None
    await asyncio.sleep(0.05)
    assert fake.polled == [] and counted == []


async def test_messages_a_poll_queued_leave_at_once_not_at_the_outbox_period() -> None:
    sent: list[float] = []

    async def send_outbox() -> None:
        sent.append(asyncio.get_running_loop().time())

    async def poll(advertiser_id: str) -> PollOutcome:
        return PollOutcome(advertiser_id, PollResult.OK)

    scheduler = Scheduler(
        poll=poll, interval=quiet_interval(), send_outbox=send_outbox, outbox_interval=timedelta(hours=1)
    )
    scheduler.start()
    try:
        await asyncio.sleep(0.1)
        assert sent == []  # its first run is an hour away
        scheduler.send_outbox_soon()
        async with asyncio.timeout(2):
            while not sent:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        await scheduler.shutdown(1.0)
