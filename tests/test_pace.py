"""Adaptive polling's pace (monitor.pace, pure): the last two intervals' paces -> the pace projected, and the
crossing it makes first_crossing find for an ad whose overspend began shortly before a poll (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.adaptive import first_crossing
from monitor.domain import EntityState, Level, Snapshot
from monitor.pace import PaceBook, paces, velocities
from monitor.rules import Rule, compile_when

ADV = "7000000000000000001"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
GAP = timedelta(seconds=15)
A = (Level.CAMPAIGN, "a")


# (pace over the last interval, pace over the one before or None, last interval, floor) -> pace projected
@pytest.mark.parametrize(
    ("last", "before", "interval", "floor", "expected"),
    [
        pytest.param(0.5, None, MINUTE, GAP, 0.5, id="no earlier pace: the average"),
        pytest.param(0.5, 0.0, MINUTE, GAP, 2.0, id="began to spend: the new spend within the last gap"),
        pytest.param(3.0, 1.0, MINUTE, GAP, 9.0, id="tripled: the extra spend within the last gap"),
        pytest.param(2.0, 1.0, MINUTE, GAP, 5.0, id="doubled: a rise"),
        pytest.param(1.5, 1.0, MINUTE, GAP, 1.5, id="less than doubled: noise, the average"),
        pytest.param(0.5, 1.0, MINUTE, GAP, 0.5, id="slowed: the average"),
        pytest.param(3.0, 1.0, GAP, GAP, 3.0, id="an interval no longer than the gap: measured already"),
        pytest.param(2.0, 1.0, 10 * MINUTE, GAP, 5.0, id="a long interval: within its last quarter, not the gap"),
        pytest.param(2.0, 1.0, 2 * GAP, GAP, 3.0, id="two gaps long: within its last gap"),
        pytest.param(3.0, 1.0, MINUTE, timedelta(0), 3.0, id="no gap: the average"),
    ],
)
def test_paces(last: float, before: float | None, interval: timedelta, floor: timedelta, expected: float) -> None:
    earlier = None if before is None else ({A: before} if before else {})  # 0: it did not spend then
    assert paces({A: last}, earlier, interval, floor) == {A: pytest.approx(expected)}


def test_an_entity_that_spent_nothing_before_began_to() -> None:
    assert paces({A: 1.0}, {(Level.CAMPAIGN, "b"): 5.0}, MINUTE, GAP) == {A: 4.0}


def snap(at: datetime, spend: float) -> Snapshot:
    entity = EntityState(level=Level.CAMPAIGN, id="a", advertiser_id=ADV, metrics={"today": {"spend": spend}})
    return Snapshot(ADV, 1, at, {entity.key: entity})


RULE = Rule(name="r", level=Level.CAMPAIGN, when=compile_when("spend > 100", level=Level.CAMPAIGN, window="today"))


def crossing(spends: tuple[float, float, float]) -> tuple[float | None, float | None]:
    """Spend today at three polls a minute apart (the last one now) -> seconds to the crossing first_crossing
    finds at the average pace and at :func:`paces`' pace, the next scheduled poll a minute ahead."""
    polls = [snap(NOW - 2 * MINUTE, spends[0]), snap(NOW - MINUTE, spends[1]), snap(NOW, spends[2])]
    before, last = velocities(polls[1], polls[0]), velocities(polls[2], polls[1])
    found = []
    for speeds in (last, paces(last, before, MINUTE, GAP)):
        at = first_crossing([RULE], polls[2], polls[1], NOW, MINUTE, speeds=speeds)
        found.append(None if at is None else (at - NOW).total_seconds())
    return found[0], found[1]


def test_an_overspend_that_began_shortly_before_a_poll_is_polled_again_soon() -> None:
    # an ad at 20 that began to spend 1 USD/s 30 s before this poll: at 50 now, crossing 100 in 50 s, before the
    # next poll; averaged over the minute its pace looks half that, 80 at the next poll: no crossing is seen
    average, rising = crossing((20.0, 20.0, 50.0))
    assert average is None
    # as if the 30 came in the last 15 s: 2 USD/s, crossing in 25 s; a poll then measures the pace
    assert rising is not None and 21 <= rising <= 27


def test_a_steady_spender_is_projected_at_its_average() -> None:
    average, rising = crossing((20.0, 50.0, 80.0))  # 0.5 USD/s all along: crossing in 40 s
    assert average == rising and average is not None and 36 <= average <= 42


def test_a_rise_far_from_the_threshold_asks_for_nothing() -> None:
    assert crossing((0.0, 0.0, 5.0)) == (None, None)  # even at 20x, 5 more in 15 s: 25 of 100 a minute ahead


def test_pace_book_recalls_the_poll_before_only() -> None:
    book = PaceBook()
    assert book.recall(ADV, NOW) is None
    book.remember(ADV, NOW, {A: 1.0})
    assert book.recall(ADV, NOW + timedelta(milliseconds=300)) == {A: 1.0}  # read back from the store
    assert book.recall(ADV, NOW + MINUTE) is None  # a poll in between was not remembered (it failed)
    assert book.recall(ADV, None) is None
    assert book.recall("another", NOW) is None
    book.remember(ADV, NOW + MINUTE, {})
    assert book.recall(ADV, NOW) is None and book.recall(ADV, NOW + MINUTE) == {}
