"""The app budget's leases (monitor.store.budget) in the database: a lease counts the batches of the last second
and minute and deletes the ones older than the minute, with a DELETE only when there is one (issue 18: most
leases of a poll delete nothing)."""

from __future__ import annotations

import asyncio
import random

import sqlalchemy as sa

from monitor.sandbox.arrivals import max_in_window
from monitor.store import Store
from monitor.store.budget import AppBudget, leases_t
from monitor.tiktok.ratelimit import RateLimiter

from .conftest import statement_log


class Wall:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def kept(store: Store) -> list[tuple[float, int]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.select(leases_t.c.t, leases_t.c.tokens).order_by(leases_t.c.t))
        found = [(float(t), int(tokens)) for t, tokens in rows]
        await conn.rollback()
    return found


async def test_a_lease_deletes_only_when_a_lease_left_the_minute(store: Store) -> None:
    budget = AppBudget(store.engine, "app")  # PostgreSQL: the server's clock
    with statement_log(store.engine) as log:
        assert (await budget.lease(2, qps=10, per_minute=600)).tokens == 2
        assert (await budget.lease(2, qps=10, per_minute=600)).tokens == 2
    # nothing had left the minute (SQLite's lease runs its statements in one trip, past SQLAlchemy's log: there
    # the log's count is 0 whatever happens, and budget.deletes tells)
    assert log.count("DELETE", "api_budget_leases") == 0 and budget.deletes == 0
    async with store.engine.begin() as conn:  # a lease of long ago
        await conn.execute(sa.insert(leases_t).values(app="app", t=1000.0, tokens=5))
    with statement_log(store.engine) as log:
        assert (await budget.lease(2, qps=10, per_minute=600)).tokens == 2
    assert budget.deletes == 1
    if store.engine.dialect.name == "postgresql":
        assert log.count("DELETE", "api_budget_leases") == 1
    assert [tokens for _, tokens in await kept(store)] == [2, 2, 2]


async def test_leases_count_the_last_second_and_minute(tmp_path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")  # SQLite: the time is the wall given
    try:
        wall = Wall(1_000_000.0)
        budget = AppBudget(store.engine, "app", margin=0.0, validity=0.1, wall=wall)
        granted = [(await budget.lease(4, qps=10, per_minute=30)).tokens]
        wall.t += 0.5
        granted.append((await budget.lease(10, qps=10, per_minute=30)).tokens)  # 6 of the second's 10 left
        wall.t += 30
        granted.append((await budget.lease(10, qps=10, per_minute=30)).tokens)  # the minute's 30: 20 left
        wall.t += 10
        granted.append((await budget.lease(30, qps=10, per_minute=30)).tokens)  # 10 left in the minute
        wall.t += 10
        granted.append((await budget.lease(30, qps=10, per_minute=30)).tokens)  # none left
        assert granted == [4, 6, 10, 10, 0]
        wall.t += 20  # the first two left the minute (60 s + margin + validity after them)
        assert (await budget.lease(30, qps=10, per_minute=30)).tokens == 10
        assert await kept(store) == [(1_000_030.5, 10), (1_000_040.5, 10), (1_000_070.5, 10)]
    finally:
        await store.close()


class VirtualClock:
    """Seconds that pass only when someone sleeps: the limiter's clock and the budget's wall."""

    def __init__(self) -> None:
        self.t = 1_000_000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)
        await asyncio.sleep(0)


async def test_a_process_alone_never_asks_the_budget_in_vain(tmp_path) -> None:
    """Its limiter counts its own requests in windows as long as the budget's, so it asks only when there is room:
    with shorter windows it asked once more each second, and was refused (issue 18: a transaction each)."""
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        clock = VirtualClock()
        budget = AppBudget(store.engine, "app", wall=clock.now, rng=random.Random(7))
        limiter = RateLimiter(10, clock=clock.now, sleep=clock.sleep, shared=budget)
        sent: list[float] = []

        async def caller() -> None:
            for _ in range(6):
                await limiter.acquire()
                sent.append(clock.t)

        await asyncio.gather(*(caller() for _ in range(10)))
        assert len(sent) == 60 and max_in_window(sent, 1.0) <= 10
        assert budget.batches <= 13  # five tokens each (half of max_qps; the first caller came alone), ...
        assert budget.round_trips == budget.batches  # ... and no lease that gave none
    finally:
        await store.close()
