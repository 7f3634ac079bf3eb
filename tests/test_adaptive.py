"""Adaptive polling's decisions, pure (``now`` passed in): when spend is projected to make a rule fire before the
next poll (monitor.adaptive.first_crossing), and whether and when an extra poll may run
(monitor.pollsoon.extra_poll_at)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.adaptive import first_crossing, velocities
from monitor.domain import EntityState, Level, Snapshot
from monitor.pollsoon import ADAPTIVE, WEBHOOK, Wish, extra_poll_at
from monitor.rules import Rule, compile_when

ADV = "7000000000000000001"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def rule(when: str, name: str = "r", level: str = "campaign") -> Rule:
    return Rule(name=name, level=Level(level), when=compile_when(when, level=Level(level), window="today"))


def snap(at: datetime, **spends: float | None) -> Snapshot:
    """Campaigns by id with today's spend (None: no report row)."""
    entities = [
        EntityState(
            level=Level.CAMPAIGN,
            id=entity_id,
            advertiser_id=ADV,
            metrics={"today": {"spend": spend}, "lifetime": {"spend": (spend or 0) + 1000}},
        )
        for entity_id, spend in spends.items()
    ]
    return Snapshot(ADV, 1, at, {e.key: e for e in entities})


# (rules, previous spends a minute ago or None, current spends, ahead) -> seconds from NOW, or None
CASES = [
    # 1 per second since the last poll; 100 is crossed in 20 s, before the next poll in 60 s
    pytest.param(["spend > 100"], {"1": 20.0}, {"1": 80.0}, MINUTE, 20.0, id="velocity crosses within the interval"),
    pytest.param(["spend > 100"], {"1": 70.0}, {"1": 80.0}, MINUTE, None, id="too slow: the next poll will see it"),
    pytest.param(["spend > 100"], None, {"1": 80.0}, MINUTE, None, id="no previous poll: no velocity"),
    pytest.param(["spend > 100"], {"1": 99.0}, {"1": 99.0}, MINUTE, 0.0, id="not moving but within 2 %: now"),
    pytest.param(["spend > 100"], {"1": 20.0}, {"1": 120.0}, MINUTE, None, id="firing already: nothing new"),
    pytest.param(["spend > 100"], {"1": 500.0}, {"1": 5.0}, MINUTE, None, id="a new local day: spend fell"),
    pytest.param(["spend > 100"], {"1": 20.0}, {"1": None}, MINUTE, None, id="no data now"),
    pytest.param(["spend < 10"], {"1": 20.0}, {"1": 80.0}, MINUTE, None, id="a rule on low spend never asks"),
    pytest.param(["clicks > 5"], {"1": 20.0}, {"1": 80.0}, MINUTE, None, id="other metrics are not projected"),
    pytest.param(["spend > 100", "spend > 90"], {"1": 20.0}, {"1": 80.0}, MINUTE, 10.0, id="the first rule to fire"),
    pytest.param(
        ["spend > 100"], {"1": 20.0, "2": 0.0}, {"1": 80.0, "2": 60.0}, MINUTE, 20.0, id="the first entity to cross"
    ),
    pytest.param(["spend > 100"], {"1": 20.0}, {"1": 80.0}, timedelta(0), None, id="nothing ahead"),
    pytest.param(["lifetime.spend > 1125"], {"1": 20.0}, {"1": 80.0}, MINUTE, 25.0, id="lifetime grows with today"),
]


@pytest.mark.parametrize(("whens", "before", "now", "ahead", "expected"), CASES)
def test_first_crossing(
    whens: list[str],
    before: dict[str, float | None] | None,
    now: dict[str, float | None],
    ahead: timedelta,
    expected: float | None,
) -> None:
    rules = [rule(when, name=f"r{i}") for i, when in enumerate(whens)]
    previous = snap(NOW - MINUTE, **before) if before is not None else None
    found = first_crossing(rules, snap(NOW, **now), previous, NOW, ahead)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        # bisected to ahead / 32 (about 2 s of a minute); the margin (2 % of spend) makes it come a little early
        assert expected - 4.0 <= (found - NOW).total_seconds() <= expected + 2.0


def test_velocity_is_todays_spend_per_second() -> None:
    speeds = velocities(snap(NOW, a=80.0, b=5.0), snap(NOW - MINUTE, a=20.0, b=10.0))
    assert speeds == {(Level.CAMPAIGN, "a"): 1.0}


NEXT = NOW + timedelta(seconds=50)
GAP = timedelta(seconds=15)


@pytest.mark.parametrize(
    ("wish", "last_done", "last_extras", "room", "expected"),
    [
        pytest.param(Wish(WEBHOOK), NOW - timedelta(seconds=30), [], True, NOW, id="at once"),
        pytest.param(Wish(WEBHOOK), NOW - timedelta(seconds=5), [], True, NOW + timedelta(seconds=10), id="gap"),
        pytest.param(Wish(WEBHOOK), NOW - timedelta(seconds=30), [], False, None, id="no budget room"),
        pytest.param(
            Wish(ADAPTIVE, NOW + timedelta(seconds=20)), None, [], True, NOW + timedelta(seconds=20), id="when"
        ),
        pytest.param(
            Wish(ADAPTIVE, NOW + timedelta(seconds=40)), None, [], True, None, id="the schedule comes as soon"
        ),
        pytest.param(Wish(ADAPTIVE), None, [NOW - timedelta(seconds=30)], True, NOW, id="a second adaptive one"),
        pytest.param(
            Wish(ADAPTIVE),
            None,
            [NOW - timedelta(seconds=40), NOW - timedelta(seconds=20)],
            True,
            None,
            id="two adaptive per interval",
        ),
        pytest.param(
            Wish(ADAPTIVE),
            None,
            [NOW - timedelta(seconds=61), NOW - timedelta(seconds=20)],
            True,
            NOW,
            id="one of the two in the interval before",
        ),
        pytest.param(
            Wish(WEBHOOK),
            None,
            [NOW - timedelta(seconds=40), NOW - timedelta(seconds=20)],
            True,
            NOW,
            id="webhooks: the gap only",
        ),
        pytest.param(Wish(ADAPTIVE, NOW - timedelta(seconds=5)), None, [], True, NOW, id="a past wish: now"),
    ],
)
def test_extra_poll_at(
    wish: Wish, last_done: datetime | None, last_extras: list[datetime], room: bool, expected: datetime | None
) -> None:
    at = extra_poll_at(
        wish,
        NOW,
        next_scheduled=NEXT,
        last_done=last_done,
        last_extras=last_extras,
        interval=MINUTE,
        floor=GAP,
        room=room,
    )
    assert at == expected
