"""The app-wide limiter, driven by a virtual clock: windows, fairness, throttle pauses and episodes."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limiter_time import VirtualTime, grant_all

from monitor.sandbox.arrivals import max_in_window
from monitor.tiktok.errors import error_for_code
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.throttle import FIRST_PAUSE, MAX_PAUSE, pause_cap


async def test_never_more_than_max_qps_in_any_second_with_50_callers():
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    grants = await grant_all(limiter, vt, callers=50, per_caller=3)
    assert len(grants) == 150
    assert max_in_window(grants, 1.0) == 10
    # and it is not needlessly slow: 150 grants at 10/s take about 14 s of virtual time
    assert grants[-1] - grants[0] < 15.0


async def test_per_minute_budget_holds_when_second_budget_would_allow_more():
    vt = VirtualTime()
    limiter = RateLimiter(10, per_minute=30, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    grants = await grant_all(limiter, vt, callers=5, per_caller=12)
    assert max_in_window(grants, 60.0) == 30
    assert max_in_window(grants, 1.0) <= 10


async def test_default_minute_budget_is_sixty_times_qps():
    assert RateLimiter(10).per_minute == 600


async def test_throttle_pauses_everyone_and_halves_the_rate():
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    grant = await limiter.acquire()
    throttled_at = vt.now
    pause = limiter.throttled(grant)
    assert pause == FIRST_PAUSE
    grants = await grant_all(limiter, vt, callers=10, per_caller=2)
    assert min(grants) >= throttled_at + pause
    assert max_in_window(grants, 1.0) == 5  # half rate while slowed down


async def test_advertiser_throttle_pauses_only_that_advertiser():
    vt = VirtualTime()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep)
    start = vt.now
    pause = limiter.throttled(await limiter.acquire("A", "campaign/get/"), "advertiser", code=40133)
    await limiter.acquire("B", "campaign/get/")
    assert vt.now == start
    await limiter.acquire("A", "adgroup/get/")
    assert vt.now >= start + pause


async def test_callers_are_served_in_arrival_order():
    vt = VirtualTime()
    limiter = RateLimiter(2, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    order: list[int] = []

    async def caller(i: int) -> None:
        await limiter.acquire()
        order.append(i)

    await asyncio.gather(*(caller(i) for i in range(8)))
    assert order == list(range(8))


@settings(max_examples=40, deadline=None)
@given(
    qps=st.integers(min_value=1, max_value=20),
    callers=st.integers(min_value=1, max_value=30),
    per_caller=st.integers(min_value=1, max_value=4),
    margin=st.sampled_from([0.0, 0.05]),
)
def test_windows_hold_for_any_load(qps: int, callers: int, per_caller: int, margin: float):
    vt = VirtualTime()
    limiter = RateLimiter(qps, margin=margin, clock=vt.clock, sleep=vt.sleep)
    grants = asyncio.run(grant_all(limiter, vt, callers, per_caller))
    assert len(grants) == callers * per_caller
    assert max_in_window(grants, 1.0 + margin) <= qps
    assert max_in_window(grants, 60.0 + margin) <= 60 * qps


# --- throttle episodes (issue 13): answers to requests in flight make one pause, not one each ---------------

LOGGER = "monitor.tiktok.ratelimit"


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def infos_of(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    infos = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.INFO]
    return [message for message in infos if text in message]


async def test_answers_to_requests_sent_before_the_pause_make_one_pause(caplog):
    """What was measured: 40100 answers to requests in flight doubled the pause up to 300 s within 1 ms."""
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, clock=vt.clock, sleep=vt.sleep)
    in_flight = [await limiter.acquire("A", "campaign/get/") for _ in range(10)]
    first_answer = vt.now
    with caplog.at_level(logging.INFO, logger=LOGGER):
        remaining = []
        for grant in in_flight:  # ten answers within a millisecond
            remaining.append(limiter.throttled(grant, code=40100))
            vt.now += 0.0001
        assert remaining[0] == FIRST_PAUSE
        assert all(0 < r <= FIRST_PAUSE for r in remaining)
        assert (limiter.throttles, limiter.pauses, limiter.episodes, limiter.longest_pause) == (10, 1, 1, FIRST_PAUSE)
        await limiter.acquire()
    assert vt.now == pytest.approx(first_answer + FIRST_PAUSE)  # one pause, not escalated
    assert len(warnings_of(caplog)) == 1
    assert "every request of the app pauses for 1.0s, then runs at half rate (5/s)" in warnings_of(caplog)[0]


async def test_a_request_sent_after_the_pause_and_throttled_again_escalates(caplog):
    vt = VirtualTime()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        before = [await limiter.acquire() for _ in range(3)]
        assert limiter.throttled(before[0]) == 1.0
        after_first = await limiter.acquire()  # waits for the pause: sent after it
        assert limiter.throttled(before[1]) == 0.0  # a late answer to a request sent before the pause: nothing new
        assert limiter.throttled(after_first) == 2.0
        assert limiter.throttled(before[2]) == 2.0  # answered by the current pause (it ends 2 s from now)
        after_second = await limiter.acquire()
        assert limiter.throttled(after_second) == 4.0
    assert (limiter.pauses, limiter.episodes, limiter.throttles) == (3, 1, 5)
    assert len(warnings_of(caplog)) == 1  # one episode
    assert len(infos_of(caplog, "still rate-limited")) == 2  # one line per further pause, none per answer


async def test_a_pause_never_exceeds_max_pause():
    vt = VirtualTime()
    limiter = RateLimiter(10, max_pause=5.0, clock=vt.clock, sleep=vt.sleep)
    pauses = []
    for _ in range(6):
        started = vt.now
        pauses.append(limiter.throttled(await limiter.acquire()))
        assert vt.now - started <= 5.0  # no grant waited longer than one pause
    assert pauses == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert limiter.longest_pause == 5.0
    short = RateLimiter(10, max_pause=0.5, clock=vt.clock, sleep=vt.sleep)
    assert short.throttled(await short.acquire()) == 0.5  # even the first pause


def test_pause_cap_is_a_quarter_of_the_interval_up_to_five_minutes():
    assert pause_cap(300.0) == 75.0
    assert pause_cap(60.0) == 15.0
    assert pause_cap(3600.0) == MAX_PAUSE == 300.0


async def test_an_episode_ends_after_a_quiet_aftermath_and_the_next_starts_afresh(caplog):
    vt = VirtualTime()
    limiter = RateLimiter(10, slow_period=60.0, clock=vt.clock, sleep=vt.sleep)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        limiter.throttled(await limiter.acquire())
        assert limiter.throttled(await limiter.acquire()) == 2.0  # same episode
        await limiter.acquire()
        vt.now += 30.0
        await limiter.acquire()
        assert not infos_of(caplog, "episode over")  # the aftermath (half rate) lasts 60 s after the last pause
        vt.now += 31.0
        await limiter.acquire()
        assert len(infos_of(caplog, "episode over")) == 1
        assert "2 pauses (3.0s in all, longest 2.0s), 2 throttled answers" in infos_of(caplog, "episode over")[0]
        assert limiter.throttled(await limiter.acquire()) == FIRST_PAUSE  # a new episode, from the first pause
    assert limiter.episodes == 2
    assert len(warnings_of(caplog)) == 2


async def test_the_rate_is_half_until_the_aftermath_ends():
    vt = VirtualTime()
    limiter = RateLimiter(10, margin=0.0, slow_period=5.0, clock=vt.clock, sleep=vt.sleep)
    limiter.throttled(await limiter.acquire())
    slowed = await grant_all(limiter, vt, callers=5, per_caller=2)
    assert max_in_window(slowed, 1.0) == 5
    vt.now += 10.0
    full = await grant_all(limiter, vt, callers=10, per_caller=1)
    assert max_in_window(full, 1.0) == 10


@pytest.mark.parametrize(("scope", "code"), [("app", 40100), ("endpoint", 40016), ("advertiser", 40133)])
async def test_every_scope_makes_one_pause_per_episode(scope, code):
    vt = VirtualTime()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep)
    in_flight = [await limiter.acquire("A", "report/integrated/get/") for _ in range(5)]
    assert [limiter.throttled(g, scope, code=code) for g in in_flight] == [1.0] * 5  # the clock stood still
    assert limiter.throttled(await limiter.acquire("A", "report/integrated/get/"), scope, code=code) == 2.0
    assert (limiter.episodes, limiter.pauses) == (1, 2)


async def test_40016_pauses_that_endpoint_for_every_advertiser_and_nothing_else(caplog):
    assert error_for_code(40016, "", endpoint="report/integrated/get/", request_id=None).scope == "endpoint"
    vt = VirtualTime()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep)
    start = vt.now
    with caplog.at_level(logging.INFO, logger=LOGGER):
        pause = limiter.throttled(await limiter.acquire("A", "report/integrated/get/"), "endpoint", code=40016)
    await limiter.acquire("A", "campaign/get/")
    await limiter.acquire("B", "campaign/get/")
    assert vt.now == start  # other endpoints go on, for the same advertiser too
    await limiter.acquire("B", "report/integrated/get/")
    assert vt.now == pytest.approx(start + pause)
    assert "on report/integrated/get/ (code 40016)" in warnings_of(caplog)[0]


async def test_a_narrow_throttle_of_an_unnamed_request_pauses_the_app():
    vt = VirtualTime()
    limiter = RateLimiter(10, clock=vt.clock, sleep=vt.sleep)
    start = vt.now
    limiter.throttled(await limiter.acquire(), "advertiser", code=40133)  # no advertiser to pause
    await limiter.acquire("B", "campaign/get/")
    assert vt.now == pytest.approx(start + FIRST_PAUSE)


async def test_hooks_count_answers_waits_and_episodes():
    vt = VirtualTime()
    answers: list[str] = []
    episodes: list[str] = []
    limiter = RateLimiter(2, clock=vt.clock, sleep=vt.sleep, on_throttle=answers.append, on_episode=episodes.append)
    grants = [await limiter.acquire("A", "campaign/get/") for _ in range(2)]
    assert answers == []  # the budget allowed both at once
    for grant in grants:
        limiter.throttled(grant, code=40100)
    limiter.throttled(grants[0], "advertiser", code=40133)
    await limiter.acquire()
    assert answers == ["app", "app", "advertiser", "local"]
    assert episodes == ["app", "advertiser"]


def test_a_throttle_error_says_which_limit_it_was_whatever_tiktok_wrote():
    """40016 reaches journals and operational messages through the error's text: it names the limit."""
    endpoint = error_for_code(40016, "Injected error.", endpoint="smart_plus/ad/get/", request_id="r1")
    assert "code 40016: Injected error." in str(endpoint) and "the app's limit on this endpoint" in str(endpoint)
    app = error_for_code(40100, "", endpoint="campaign/get/", request_id=None)
    assert "the app's request budget" in str(app)
    advertiser = error_for_code(40133, "", endpoint="campaign/get/", request_id=None, advertiser_id="7")
    assert "this advertiser's limit on this endpoint" in str(advertiser)
