"""The limiter's side of the budget shared with other processes, against a scripted SharedBudget and a virtual
clock: batches, the pause another process recorded, publishing our own, a database that fails."""

from __future__ import annotations

import asyncio
import logging

import pytest
from limiter_time import VirtualTime, grant_all

from monitor.sandbox.arrivals import max_in_window
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.shared_budget import BudgetLease


class FakeBudget:
    """Gives ``tokens`` per lease (valid ``valid_for``), or what ``script`` says first; records the pauses."""

    def __init__(self, tokens: int = 100, valid_for: float = 0.2) -> None:
        self.tokens, self.valid_for = tokens, valid_for
        self.script: list[BudgetLease | Exception] = []
        self.asked: list[int] = []
        self.paused: list[tuple[float, float]] = []

    async def lease(self, wanted: int, qps: int, per_minute: int) -> BudgetLease:
        self.asked.append(wanted)
        await asyncio.sleep(0)  # a round trip: other callers queue meanwhile
        if self.script:
            item = self.script.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        return BudgetLease(tokens=min(wanted, self.tokens), valid_for=self.valid_for)

    async def pause(self, seconds: float, slow_period: float) -> None:
        self.paused.append((seconds, slow_period))


async def test_leases_batches_of_at_most_the_waiting_callers_and_batch_max():
    vt, budget = VirtualTime(), FakeBudget()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep, shared=budget, batch_max=3)
    grants = await grant_all(limiter, vt, callers=10, per_caller=3)
    assert len(grants) == 30 and max_in_window(grants, 1.0) <= 10
    assert max(budget.asked) == 3 and limiter.leases == len(budget.asked) < 30


async def test_a_single_caller_leases_one_token_at_a_time():
    vt, budget = VirtualTime(), FakeBudget()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep, shared=budget)
    await limiter.acquire()
    await limiter.acquire()
    assert budget.asked == [1, 1]


async def test_no_token_waits_as_long_as_the_budget_says():
    vt, budget = VirtualTime(), FakeBudget()
    budget.script = [BudgetLease(tokens=0, valid_for=0.2, retry_in=0.7)]
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep, shared=budget)
    start = vt.now
    await limiter.acquire()
    assert vt.now - start == pytest.approx(0.7) and len(budget.asked) == 2


async def test_callers_that_queued_during_a_lease_share_the_next_batch():
    vt, budget = VirtualTime(), FakeBudget()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep, shared=budget, batch_max=5)
    await asyncio.gather(*(limiter.acquire() for _ in range(4)))
    assert budget.asked == [1, 3]


async def test_an_unspent_batch_expires():
    vt, budget = VirtualTime(), FakeBudget()
    budget.script = [BudgetLease(tokens=5, valid_for=0.2)]
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep, shared=budget)
    await limiter.acquire()
    await limiter.acquire()
    assert len(budget.asked) == 1  # the second spent the batch's next token
    vt.now += 0.3
    await limiter.acquire()
    assert len(budget.asked) == 2  # three tokens left, but too late to spend them


async def test_the_pause_another_process_recorded_holds_every_request_and_escalates_from_it(caplog):
    vt, budget = VirtualTime(), FakeBudget()
    budget.script = [BudgetLease(tokens=0, valid_for=0.2, retry_in=4.0, paused_for=4.0, pause=4.0, slow_for=64.0)]
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep, shared=budget, max_pause=30.0)
    start = vt.now
    with caplog.at_level(logging.INFO, logger="monitor.tiktok.ratelimit"):
        grant = await limiter.acquire()
    assert vt.now - start >= 4.0  # waited for the other process's pause
    assert "another process sharing the app's budget was rate-limited" in caplog.text
    assert limiter.episodes == 1 and limiter.pauses == 0  # adopted, not made
    assert limiter.throttling.qps(vt.now) == 5  # half rate after it, as the shared row says
    assert limiter.throttled(grant, "app", code=40100) == 8.0  # sent after that pause: escalates from 4 s
    await asyncio.sleep(0)
    assert budget.paused == [(8.0, limiter.slow_period)]  # and tells the others


async def test_answers_to_grants_from_before_an_adopted_pause_change_nothing():
    vt, budget = VirtualTime(), FakeBudget()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep, shared=budget)
    before = await limiter.acquire()
    budget.script = [BudgetLease(tokens=0, valid_for=0.2, retry_in=2.0, paused_for=2.0, pause=2.0, slow_for=62.0)]
    vt.now += 0.3  # the batch ran out: the next acquire leases and meets the pause
    waiting = asyncio.ensure_future(limiter.acquire())
    for _ in range(3):  # until it has the lease, and the pause with it
        await asyncio.sleep(0)
    assert limiter.leases == 2
    limiter.throttled(before, "app", code=40100)
    assert limiter.pauses == 0 and budget.paused == []  # that pause already answers it
    await waiting


async def test_a_pause_made_here_is_published():
    vt, budget = VirtualTime(), FakeBudget()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep, shared=budget, slow_period=60.0)
    grant = await limiter.acquire()
    limiter.throttled(grant, "app", code=40100)
    limiter.throttled(grant, "advertiser")  # not the app's: not shared
    await asyncio.sleep(0)
    assert budget.paused == [(1.0, 60.0)]


async def test_a_failing_database_leaves_the_process_limiting_itself(caplog):
    vt, budget = VirtualTime(), FakeBudget()
    budget.script = [OSError("connection refused")]
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep, shared=budget)
    with caplog.at_level(logging.WARNING):
        grants = await grant_all(limiter, vt, callers=5, per_caller=4)
    assert len(grants) == 20 and max_in_window(grants, 1.0) <= 10
    assert "shared request budget is unavailable" in caplog.text
    assert len(budget.asked) >= 2  # asked again once the second was over


async def test_our_own_pause_read_back_a_little_later_is_not_another_processes(caplog):
    vt, budget = VirtualTime(), FakeBudget()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep, shared=budget)
    grant = await limiter.acquire()
    start = vt.now
    limiter.throttled(grant, "app", code=40100)  # a 1 s pause here ...
    vt.now += 0.2  # ... recorded in the database while 0.2 s pass: there it began 0.1 s later
    await asyncio.sleep(0)
    assert budget.paused == [(1.0, limiter.slow_period)]
    budget.script = [BudgetLease(tokens=0, valid_for=0.2, retry_in=0.1, paused_for=0.1, pause=1.0, slow_for=61.1)]
    with caplog.at_level(logging.INFO, logger="monitor.tiktok.ratelimit"):
        await limiter.acquire()  # our pause ends at +1.0: the lease says the fleet's runs 0.1 s longer
    assert vt.now - start >= 1.1
    assert "another process" not in caplog.text
    assert (limiter.episodes, limiter.pauses) == (1, 1)


async def test_a_lease_asks_for_what_can_be_sent_while_it_is_valid():
    """When the second's first request leaves the window, the next ones leave within the batch's validity: the
    lease asks for them too, not for the one free slot (issue 18: a transaction per token or two)."""
    vt, budget = VirtualTime(), FakeBudget(valid_for=0.1)
    limiter = RateLimiter(10, margin=0.1, clock=vt.clock, sleep=vt.sleep, shared=budget, batch_max=5)
    for _ in range(10):  # a second's ten requests, one every 10 ms
        await limiter.acquire()
        vt.now += 0.01
    budget.asked.clear()
    grants = await grant_all(limiter, vt, callers=5, per_caller=1)
    assert budget.asked[0] == 5 and len(budget.asked) == 1
    assert len(grants) == 5


async def test_the_windows_are_as_long_as_the_fleets():
    """The shared budget counts a batch from its lease, up to its validity before the requests leave: counted in
    windows that long here too, no request is granted that the fleet would refuse a token for."""
    vt, budget = VirtualTime(), FakeBudget(valid_for=0.1)
    limiter = RateLimiter(10, margin=0.1, clock=vt.clock, sleep=vt.sleep, shared=budget)
    grants = await grant_all(limiter, vt, callers=10, per_caller=3)
    assert len(grants) == 30 and max_in_window(grants, 1.0 + 0.1 + 0.1 - 1e-9) <= 10
