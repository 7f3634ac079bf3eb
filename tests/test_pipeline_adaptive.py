"""Adaptive polling in a real poll (sandbox over loopback, SQLite, frozen clock): an ad group spending fast
toward a threshold gets ``PollSummary.crossing`` about when it will pass it; without adaptive polling, or
without a previous poll to take the pace from, none."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from polling import PipelinePolls

from monitor.adaptive import Cadence
from monitor.pipeline import Pipeline
from monitor.rules.loader import load_rules
from monitor.store.repo import Store

ADV = "7000000000000000001"
INTERVAL = timedelta(minutes=10)
GAP = timedelta(seconds=15)


@pytest.fixture
async def store(tmp_path: Path):
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
    yield store
    await store.close()


def polls(make_client, store, tmp_path, clock, *, adaptive: bool, threshold: float) -> PipelinePolls:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.toml").write_text(
        f'[[rule]]\nname = "overspend"\nlevel = "ad"\nwhen = "spend > {threshold}"\nnotify = ["slack"]\n'
    )
    ruleset = load_rules(tmp_path / "rules", channels={"slack"})
    pipeline = Pipeline(
        client=make_client(),
        store=store,
        rules=lambda: ruleset,
        clock=clock,
        adaptive=(lambda: Cadence(INTERVAL, GAP)) if adaptive else None,
    )
    return PipelinePolls(pipeline, clock)


@pytest.mark.parametrize("adaptive", [True, False])
async def test_spend_fast_toward_a_threshold_asks_for_a_poll_when_it_crosses(
    make_client, store, tmp_path, clock, sandbox, adaptive: bool
) -> None:
    ad = sandbox.world.advertisers[ADV].campaigns[0].adgroups[0].ads[0]
    now = sandbox.now()
    spent = sandbox.world.ad_spend(ad, now - 86_400 * 2, now, now)  # far above what it spent today
    threshold = round(spent + 1000, 2)
    poller = polls(make_client, store, tmp_path, clock, adaptive=adaptive, threshold=threshold)
    first = await poller.poll(ADV)
    assert first.crossing is None  # no pace yet
    # 500 more in a minute: at that pace the rest of the way takes about another minute
    for _ in range(10):
        clock.advance(6)
        sandbox.world.add_surge(ad, 50.0, sandbox.now())
    clock.advance(1)
    second = await poller.poll(ADV)
    assert second.findings == 0
    if not adaptive:
        assert second.crossing is None
        return
    assert second.crossing is not None
    ahead = (second.crossing - clock.now()).total_seconds()
    assert 30 <= ahead <= 75, ahead


@pytest.mark.parametrize("remembered", [True, False])
async def test_a_pace_that_rose_shortly_before_the_poll_is_projected_at_its_recent_pace(
    make_client, store, tmp_path, clock, sandbox, remembered: bool
) -> None:
    ad = sandbox.world.advertisers[ADV].campaigns[0].adgroups[0].ads[0]
    now = sandbox.now()
    threshold = round(sandbox.world.ad_spend(ad, now - 86_400 * 2, now, now) + 1000, 2)
    poller = polls(make_client, store, tmp_path, clock, adaptive=True, threshold=threshold)
    await poller.poll(ADV)
    clock.advance(60)
    await poller.poll(ADV)  # a quiet minute: the pace before
    if not remembered:  # a fresh pipeline does not know it: the last interval's average pace only
        poller = polls(make_client, store, tmp_path, clock, adaptive=True, threshold=threshold)
    clock.advance(42)
    for _ in range(3):  # 600 in the last 15 s of the minute: 40 a second, the rest of the way in 10 s
        clock.advance(5)
        sandbox.world.add_surge(ad, 200.0, sandbox.now())
    clock.advance(3)
    third = await poller.poll(ADV)
    assert third.crossing is not None
    ahead = (third.crossing - clock.now()).total_seconds()
    if remembered:  # as if the 600 came within the last min_poll_gap (15 s)
        assert ahead <= 12, ahead
    else:  # averaged over the minute: 10 a second, 40 s (bisected to a 32nd of the 10 minutes ahead)
        assert 30 <= ahead <= 60, ahead


async def test_the_adaptive_setting_is_read_once_per_poll(make_client, store, tmp_path, clock, sandbox) -> None:
    """The levels the comparison parses and the look ahead come from one read, so a reload between them cannot make
    them disagree."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.toml").write_text(
        '[[rule]]\nname = "overspend"\nlevel = "ad"\nwhen = "spend > 1000000"\nnotify = ["slack"]\n'
    )
    ruleset = load_rules(tmp_path / "rules", channels={"slack"})
    reads: list[Cadence] = []

    def adaptive() -> Cadence:
        reads.append(Cadence(INTERVAL, GAP))
        return reads[-1]

    pipeline = Pipeline(client=make_client(), store=store, rules=lambda: ruleset, clock=clock, adaptive=adaptive)
    poller = PipelinePolls(pipeline, clock)
    await poller.poll(ADV)
    clock.advance(60)
    await poller.poll(ADV)
    assert len(reads) == 2
