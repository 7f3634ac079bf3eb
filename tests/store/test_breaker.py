"""The circuit breaker's store part, on SQLite and PostgreSQL: the count of real writes in the window (from the
journal), episodes opened, extended, told once, resumed and closed by ``breaker_reset``, and the check-and-record
that two processes sharing the database cannot both pass."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from monitor.domain import BreakerEpisode, Level
from monitor.store.breaker import Admission
from monitor.store.journal import NOT_SENT_CANCELLED
from monitor.store.repo import Store
from monitor.store.values import ActionIntent, ActionStatus, Notification
from monitor.tiktok.models import AdvertiserInfo

from .conftest import ADV, T0, Database

WINDOW = timedelta(minutes=5)
RESET = timedelta(hours=1)


def intent(entity_id: str = "c1", *, dry_run: bool = False, reverts: int | None = None) -> ActionIntent:
    return ActionIntent(
        ADV, Level.CAMPAIGN, entity_id, "pause", "why", {"operation_status": "ENABLE"},
        {"operation_status": "DISABLE"}, rule="r", dry_run=dry_run, reverts=reverts,
    )  # fmt: skip


async def known_advertiser(store: Store) -> None:
    await store.upsert_advertisers([AdvertiserInfo(ADV, "Acme", None, "USD", "UTC")], T0)


def limit(max_writes: int, asked: int = 1):
    """A judge like the guard's: admit ``asked`` writes while closed and within ``max_writes``, else hold them."""

    def judge(episode: BreakerEpisode | None, writes: int) -> Admission:
        held = tuple(f"pause campaign c{i}" for i in range(asked))
        if episode is not None:
            return Admission(held=held)
        if writes + asked > max_writes:
            return Admission(held=held, opens=f"{writes} writes and {asked} more")
        return Admission(writes=tuple(intent(f"c{i}") for i in range(asked)))

    return judge


async def test_the_count_is_the_real_rule_writes_of_the_window(store: Store) -> None:
    await known_advertiser(store)
    journal = store.journal
    await journal.begin(intent("old"), T0 - timedelta(minutes=6))  # before the window
    inside = await journal.begin(intent("a"), T0 - timedelta(minutes=5))  # the window's start counts
    await journal.finish(inside.id, T0, ActionStatus.SUCCEEDED)
    failed = await journal.begin(intent("b"), T0 - timedelta(minutes=1))  # an attempt is a write
    await journal.finish(failed.id, T0, ActionStatus.FAILED, error="refused")
    await journal.begin(intent("c", dry_run=True), T0)  # dry runs write nothing
    await journal.begin(intent("d", reverts=inside.id), T0)  # a person's revert is not the rules' write
    await journal.begin(intent("e"), T0)  # pending: it may have reached TikTok
    unsent = await journal.begin(intent("f"), T0)  # journaled, never sent (a cancellation before its request)
    await journal.finish(unsent.id, T0, ActionStatus.FAILED, error=NOT_SENT_CANCELLED)
    status = await store.breaker.status(T0, WINDOW, RESET)
    assert (status.writes, status.episode, status.is_open, status.counted_from) == (3, None, False, T0 - WINDOW)


async def test_admit_journals_the_writes_it_lets_through_and_opens_an_episode_beyond_the_limit(store: Store) -> None:
    await known_advertiser(store)
    entries = await store.breaker.admit(T0, WINDOW, RESET, limit(3, asked=2))
    assert [(e.intent.entity_id, e.status, e.created_at) for e in entries] == [
        ("c0", ActionStatus.PENDING, T0),
        ("c1", ActionStatus.PENDING, T0),
    ]
    assert await store.breaker.admit(T0, WINDOW, RESET, limit(3, asked=2)) == []  # 2 + 2 > 3: none, it opens
    status = await store.breaker.status(T0, WINDOW, RESET)
    assert status.is_open and status.writes == 2
    assert (status.episode.reason, status.episode.held_count, status.episode.opened_at) == (
        "2 writes and 2 more",
        2,
        T0,
    )
    later = T0 + timedelta(minutes=10)  # out of the window, but the breaker stays open
    assert await store.breaker.admit(later, WINDOW, RESET, limit(3, asked=1)) == []
    [episode] = await store.breaker.episodes()
    assert episode.is_open and episode.held == ("pause campaign c0", "pause campaign c1", "pause campaign c0")
    assert episode.held_count == 3 and len(await store.journal.history()) == 2


async def test_people_are_told_once_per_opening_across_processes(database: Database, store: Store) -> None:
    await known_advertiser(store)
    other = await database.open()
    try:
        told: list[int] = []

        def compose(episode: BreakerEpisode) -> list[Notification]:
            told.append(episode.held_count)
            return [Notification("slack:#ops", {"type": "ops"}, key="_ops/actions_held/circuit-breaker")]

        assert await store.breaker.tell_once(T0, RESET, compose) is None  # closed: nothing to tell
        await store.breaker.admit(T0, WINDOW, RESET, limit(0))
        results = await asyncio.gather(*(s.breaker.tell_once(T0, RESET, compose) for s in (store, other, store)))
        assert [r is not None for r in results].count(True) == 1 and told == [1]
        assert len(await store.outbox.fetch_due(T0)) == 1
        [episode] = await other.breaker.episodes()
        assert episode.told_at == T0
    finally:
        await other.close()


async def test_resume_closes_it_with_who_and_the_count_starts_afresh(store: Store) -> None:
    await known_advertiser(store)
    await store.breaker.admit(T0, WINDOW, RESET, limit(1))
    await store.breaker.admit(T0, WINDOW, RESET, limit(1))  # opens
    resumed_at = T0 + timedelta(minutes=1)
    closed = await store.breaker.resume(resumed_at, "alice", RESET)
    assert (closed.is_open, closed.closed_at, closed.closed_by, closed.held_count) == (False, resumed_at, "alice", 1)
    assert await store.breaker.resume(resumed_at, "bob", RESET) is None  # not open: nothing to resume
    status = await store.breaker.status(resumed_at, WINDOW, RESET)
    assert not status.is_open and status.writes == 0 and status.counted_from == resumed_at
    assert len(await store.breaker.admit(resumed_at, WINDOW, RESET, limit(1))) == 1


async def test_breaker_reset_closes_it_by_itself(store: Store) -> None:
    await known_advertiser(store)
    await store.breaker.admit(T0, WINDOW, RESET, limit(0))
    assert (await store.breaker.status(T0 + RESET - timedelta(seconds=1), WINDOW, RESET)).is_open
    after = T0 + RESET + timedelta(minutes=1)
    status = await store.breaker.status(after, WINDOW, RESET)
    assert not status.is_open and status.episode.closed_by == "breaker_reset" and status.counted_from == T0 + RESET
    [stored] = await store.breaker.episodes()
    assert stored.is_open  # a read does not write; the next write transaction settles it
    assert len(await store.breaker.admit(after, WINDOW, RESET, limit(1))) == 1
    [settled] = await store.breaker.episodes()
    assert (settled.closed_at, settled.closed_by) == (T0 + RESET, "breaker_reset")


async def test_two_processes_never_both_pass_the_last_write_of_the_window(database: Database, store: Store) -> None:
    await known_advertiser(store)
    for i in range(9):
        await store.journal.begin(intent(f"earlier{i}"), T0 - timedelta(minutes=1))
    others = [await database.open() for _ in range(3)]
    try:
        stores = [store, *others]
        admitted = await asyncio.gather(*(stores[i % 4].breaker.admit(T0, WINDOW, RESET, limit(10)) for i in range(24)))
        assert sum(len(entries) for entries in admitted) == 1
        status = await store.breaker.status(T0, WINDOW, RESET)
        assert status.writes == 10 and status.is_open
        [episode] = await store.breaker.episodes()
        assert episode.held_count == 23
    finally:
        for other in others:
            await other.close()


async def test_maintenance_forgets_episodes_closed_retention_ago_but_never_the_open_or_the_newest(
    database: Database,
) -> None:
    day = timedelta(days=1)
    store = await database.open(retention=30 * day)
    try:
        await known_advertiser(store)
        await store.breaker.admit(T0, WINDOW, RESET, limit(0))  # opens the first episode...
        await store.breaker.resume(T0 + timedelta(minutes=1), "alice", RESET)  # ...closed by a person
        await store.breaker.admit(T0 + 10 * day, WINDOW, RESET, limit(0))  # closed by breaker_reset, an hour on
        await store.breaker.admit(T0 + 20 * day, WINDOW, RESET, limit(0))
        await store.breaker.resume(T0 + 20 * day + timedelta(minutes=1), "bob", RESET)
        await store.breaker.admit(T0 + 44 * day, WINDOW, RESET, limit(0))  # open
        opened = [e.opened_at for e in await store.breaker.episodes()]
        assert opened == [T0 + 44 * day, T0 + 20 * day, T0 + 10 * day, T0]

        report = await store.maintain(T0 + 45 * day)  # the cutoff: T0 + 15 days

        assert report.pruned.breaker_episodes == 2
        kept = await store.breaker.episodes()
        assert [(e.opened_at, e.is_open) for e in kept] == [(T0 + 44 * day, True), (T0 + 20 * day, False)]
        assert (await store.breaker.status(T0 + 45 * day, WINDOW, RESET)).episode == kept[0].as_of(T0 + 45 * day, RESET)

        # months later: the newest episode stays, however old, so the breaker's state reads the same
        resumed = T0 + 44 * day + timedelta(minutes=1)
        await store.breaker.resume(resumed, "carol", RESET)
        later = T0 + 200 * day
        before = await store.breaker.status(later, WINDOW, RESET)
        assert (await store.maintain(later)).pruned.breaker_episodes == 1
        [newest] = await store.breaker.episodes()
        assert (newest.opened_at, newest.closed_at, newest.closed_by) == (T0 + 44 * day, resumed, "carol")
        assert await store.breaker.status(later, WINDOW, RESET) == before
    finally:
        await store.close()
