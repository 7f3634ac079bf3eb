"""The changes people make from any front end (monitor.steering): silences made and ended with who made them,
refused when they cannot be meant; reverts are tested end to end in tests/actions/test_actions_cli.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.actions.base import GuardSettings
from monitor.clock import FrozenClock
from monitor.domain import Matcher
from monitor.steering import Steering, SteeringError
from monitor.store.repo import Store


async def no_client(advertiser_id: str):  # silences need no API
    raise AssertionError(f"no client wanted for {advertiser_id}")


@pytest.fixture
async def steering(tmp_path, clock: FrozenClock):
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}", clock=clock)
    yield Steering(store, clock, GuardSettings(), no_client), store
    await store.close()


async def test_a_silence_is_stored_with_who_made_it_and_ends_when_expired(steering, clock: FrozenClock):
    steer, store = steering
    made = await steer.add_silence([Matcher("rule", "overspend")], by="slack:U1 (alice)", duration=timedelta(hours=2))
    assert (made.id, made.created_by, made.ends_at - made.starts_at) == (1, "slack:U1 (alice)", timedelta(hours=2))
    assert [s.id for s in await store.silences.active(clock.now())] == [1]
    clock.advance(60)
    ended = await steer.expire_silence(1, by="page:bob")
    assert ended.ended_now and ended.silence.ends_at == clock.now()
    assert await store.silences.active(clock.now()) == []
    assert not (await steer.expire_silence(1, by="page:bob")).ended_now  # ended already: said, not an error


async def test_silences_that_cannot_be_meant_are_refused(steering, clock: FrozenClock):
    steer, _ = steering
    rule = [Matcher("rule", "overspend")]
    with pytest.raises(SteeringError, match="a duration or an end time"):
        await steer.add_silence(rule, by="alice")
    with pytest.raises(SteeringError, match="end before it starts"):
        await steer.add_silence(rule, by="alice", ends_at=clock.now() - timedelta(minutes=1))
    with pytest.raises(SteeringError, match="at least one matcher"):
        await steer.add_silence([], by="alice", duration=timedelta(hours=1))
    with pytest.raises(SteeringError, match="more than 366 days cannot be meant"):
        await steer.add_silence(rule, by="alice", duration=timedelta(days=1000))
    with pytest.raises(SteeringError, match="no silence #7"):
        await steer.expire_silence(7, by="alice")
