"""What a poll's ad reports guess Smart+ from (monitor.smart_plus_seen): this process's own latest finding while it
is current, else the advertiser's stored one, read only when asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from monitor.domain import EntityState, Level
from monitor.smart_plus_seen import SmartPlusSeen, own_finding
from monitor.store.repo import Store

ADV = "7000000000000000001"
T0 = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_the_own_finding_counts_while_no_other_process_polled_since() -> None:
    assert own_finding(None, 7) is None  # never polled here: ask the store
    assert own_finding((7, True), 7) is True  # the poll of the previous snapshot was this process's
    assert own_finding((8, False), 7) is False  # a later one of this process that did not commit
    assert own_finding((5, True), 7) is None  # another process polled since (once beside run, a shard back)
    assert own_finding((5, True), None) is True


async def test_the_store_is_read_only_when_asked_and_the_own_finding_is_not_current(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'm.db'}")
    statements: list[str] = []
    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        polls = []
        for minute, found in enumerate((True, False)):  # another process's polls: the last found none
            async with store.poll(ADV, T0 + timedelta(minutes=minute)) as poll:
                poll.save([EntityState(Level.AD, "1", ADV)])
                poll.note_smart_plus(found)
            polls.append(poll.poll_id)
        seen = SmartPlusSeen(store)
        seen.note(ADV, polls[0], True)  # this process's finding, older than the stored one
        statements.clear()
        ask = seen.asker(ADV, previous_poll=polls[1])
        assert statements == []  # nothing read until asked
        assert await ask() is False  # the stored finding, newer
        assert any("advertisers" in s for s in statements)
        seen.note(ADV, polls[1] + 1, True)  # this process polled again (not committed)
        seen.note(ADV, polls[1] + 2, None)  # and then could not tell: what was known stays
        statements.clear()
        assert await seen.asker(ADV, previous_poll=polls[1])() is True
        assert statements == []
        assert await SmartPlusSeen(store).asker("7000000000000000999", previous_poll=None)() is None  # no row
    finally:
        await store.close()
