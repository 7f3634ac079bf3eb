"""/healthz: the pure decision (table-tested with a frozen clock) and the real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from polling import Outcomes

from monitor import __version__
from monitor.clock import FrozenClock
from monitor.health import HealthServer, HealthState, health_status, parse_listen
from monitor.metrics import Metrics
from monitor.polls import PollOutcome, PollResult
from monitor.store.shards import Assignment, shard_of

T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
INTERVAL = timedelta(minutes=5)

# Each event: (seconds after start, advertiser, ok). The state is checked 'at' seconds after start.
CASES = [
    # name, advertisers, events, at, ok, status
    ("just started", ["a"], [], 30, True, "starting"),
    ("started, nothing to poll yet", [], [], 30, True, "starting"),
    ("first poll ok", ["a"], [(60, "a", True)], 90, True, "ok"),
    ("ok but another not polled yet", ["a", "b"], [(60, "a", True)], 90, True, "ok"),
    ("last success 9m59s ago", ["a"], [(60, "a", True)], 60 + 599, True, "ok"),
    ("last success exactly two intervals ago", ["a"], [(60, "a", True)], 660, True, "ok"),
    ("last success just over two intervals ago", ["a"], [(60, "a", True)], 661, False, "failing"),
    ("one of two failing", ["a", "b"], [(60, "a", True), (70, "b", False)], 100, True, "degraded"),
    ("recovered", ["a"], [(60, "a", False), (360, "a", True)], 400, True, "ok"),
    ("every poll failed, still starting", ["a"], [(60, "a", False)], 300, True, "starting"),
    ("every poll failed, past start-up", ["a"], [(60, "a", False), (360, "a", False)], 700, False, "failing"),
    (
        "good earlier, failing now",
        ["a"],
        [(60, "a", True), (360, "a", False), (660, "a", False)],
        700,
        False,
        "failing",
    ),
    ("no advertisers after start-up", [], [], 700, False, "failing"),
    ("one stale, one fresh", ["a", "b"], [(60, "a", True), (600, "b", True)], 700, True, "degraded"),
]


def build_state(advertisers: list[str], events: list[tuple[int, str, bool]]) -> tuple[HealthState, FrozenClock]:
    clock = FrozenClock(T0)
    state = HealthState(clock=clock, interval=INTERVAL, version="9.9.9")
    state.set_advertisers(advertisers)
    outcome = Outcomes()
    for seconds, advertiser_id, ok in events:
        clock.set(T0 + timedelta(seconds=seconds))
        state.poll_done(outcome(advertiser_id, ok, 1.5, None if ok else "TransientApiError: 50000 system busy"))
    return state, clock


@pytest.mark.parametrize(("name", "advertisers", "events", "at", "ok", "status"), CASES, ids=[c[0] for c in CASES])
def test_health_status(
    name: str, advertisers: list[str], events: list[tuple[int, str, bool]], at: int, ok: bool, status: str
) -> None:
    state, _ = build_state(advertisers, events)
    healthy, details = health_status(state, T0 + timedelta(seconds=at), INTERVAL)
    assert (healthy, details["status"]) == (ok, status), details["reason"]
    assert details["ok"] is healthy


def test_health_details_per_advertiser() -> None:
    state, _ = build_state(["a", "b", "c"], [(60, "a", True), (70, "b", False), (370, "b", False)])
    _, details = health_status(state, T0 + timedelta(seconds=400), INTERVAL)
    assert details["reason"] == "1 of 3 advertisers failing or stale"
    assert details["version"] == "9.9.9"
    assert details["uptime_s"] == 400
    assert details["interval_s"] == 300
    assert details["last_success_at"] == "2026-11-24T20:01:00+00:00"
    assert details["advertisers"] == {
        "a": {
            "status": "ok",
            "last_ok_at": "2026-11-24T20:01:00+00:00",
            "last_poll_at": "2026-11-24T20:01:00+00:00",
            "last_error": None,
            "last_error_at": None,
            "consecutive_failures": 0,
            "paused": None,
            "since": None,
            "last_duration_s": 1.5,
        },
        "b": {
            "status": "failing",
            "last_ok_at": None,
            "last_poll_at": "2026-11-24T20:06:10+00:00",
            "last_error": "TransientApiError: 50000 system busy",
            "last_error_at": "2026-11-24T20:06:10+00:00",
            "consecutive_failures": 2,
            "paused": None,
            "since": None,
            "last_duration_s": 1.5,
        },
        "c": {
            "status": "pending",
            "last_ok_at": None,
            "last_poll_at": None,
            "last_error": None,
            "last_error_at": None,
            "consecutive_failures": 0,
            "paused": None,
            "since": None,
            "last_duration_s": None,
        },
    }


def test_the_breaker_is_shown_once_read_and_does_not_change_the_status() -> None:
    state, clock = build_state(["a"], [(60, "a", True)])
    clock.advance(90)
    ok, details = health_status(state, clock.now(), INTERVAL)
    assert details["breaker"] is None  # not read yet
    state.breaker_done(True, T0 + timedelta(seconds=70), 10)
    ok, details = health_status(state, clock.now(), INTERVAL)
    assert (ok, details["status"]) == (True, "ok")
    assert details["breaker"] == {"state": "open", "since": "2026-11-24T20:01:10+00:00", "writes_in_window": 10}
    metrics = Metrics()
    metrics.set_breaker(True, 10)
    assert metrics.registry.get_sample_value("tiktok_monitor_circuit_breaker_open") == 1
    assert metrics.registry.get_sample_value("tiktok_monitor_circuit_breaker_writes") == 10
    metrics.set_breaker(False, 0)
    assert metrics.registry.get_sample_value("tiktok_monitor_circuit_breaker_open") == 0


def test_failing_reason_names_the_limit() -> None:
    state, _ = build_state(["a"], [(60, "a", True)])
    _, details = health_status(state, T0 + timedelta(seconds=60 + 3600), INTERVAL)
    assert details["reason"] == "no successful poll in 1h00m00s (limit: two intervals, 10m00s)"
    state, _ = build_state(["a"], [(60, "a", False)])
    _, details = health_status(state, T0 + timedelta(seconds=700), INTERVAL)
    assert details["reason"] == "no successful poll ever (limit: two intervals, 10m00s)"


def test_removed_advertisers_are_forgotten() -> None:
    state, _ = build_state(["a", "b"], [(60, "a", True), (60, "b", False)])
    state.set_advertisers(["a"])
    assert list(state.advertisers) == ["a"]
    assert state.advertisers["a"].last_ok_at == T0 + timedelta(seconds=60)


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:9108", ("127.0.0.1", 9108)),
        ("0.0.0.0:9108", ("0.0.0.0", 9108)),  # noqa: S104 - parsing, not binding
        ("[::1]:9108", ("::1", 9108)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["9108", ":9108", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000", ""])
def test_parse_listen_rejects(listen: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(listen)


# --- over HTTP -------------------------------------------------------------------------------------------------


@pytest.fixture
async def served(clock: FrozenClock) -> AsyncIterator[tuple[HealthState, HealthServer]]:
    state = HealthState(clock=clock, interval=INTERVAL)
    async with HealthServer(state, Metrics().registry, host="127.0.0.1", port=0) as server:
        yield state, server


async def test_healthz_is_200_with_details_while_polls_succeed(
    served: tuple[HealthState, HealthServer], http: aiohttp.ClientSession, clock: FrozenClock
) -> None:
    state, server = served
    state.set_advertisers(["7000000000000000001"])
    clock.advance(60)
    state.poll_done(Outcomes()("7000000000000000001", True, 0.25, None))
    async with http.get(server.url + "/healthz") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        body = await response.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["uptime_s"] == 60
    assert body["advertisers"]["7000000000000000001"]["last_ok_at"] == clock.now().isoformat()


async def test_healthz_is_503_when_nothing_succeeded_for_two_intervals(
    served: tuple[HealthState, HealthServer], http: aiohttp.ClientSession, clock: FrozenClock
) -> None:
    state, server = served
    state.set_advertisers(["7000000000000000001"])
    clock.advance(30)
    state.poll_done(Outcomes()("7000000000000000001", True, 0.25, None))
    clock.advance(11 * 60)
    async with http.get(server.url + "/healthz") as response:
        assert response.status == 503
        body = await response.json()
    assert body["status"] == "failing"
    assert body["reason"].startswith("no successful poll in 11m00s")


async def test_server_binds_loopback_by_default(clock: FrozenClock) -> None:
    server = HealthServer(HealthState(clock=clock, interval=INTERVAL), Metrics().registry, port=0)
    await server.start()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url


async def test_a_host_that_is_not_allowed_is_refused(clock: FrozenClock) -> None:
    state = HealthState(clock=clock, interval=INTERVAL)
    async with (
        HealthServer(state, Metrics().registry, port=0, allowed_hosts=["monitor.internal"]) as server,
        aiohttp.ClientSession() as http,
    ):

        async def status(host: str) -> int:
            async with http.get(server.url + "/healthz", headers={"Host": host}) as response:
                return response.status

        for allowed in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "[::1]", "monitor.internal:9108"):
            assert await status(allowed) != 421, allowed
        for rebound in ("attacker.example:9108", "rebind.attacker.example", "localhost.attacker.example"):
            assert await status(rebound) == 421, rebound
        async with http.get(server.url + "/metrics", headers={"Host": "attacker.example"}) as response:
            assert response.status == 421


def shard_owner(assign: dict[str, str | None]) -> Assignment:
    """An assignment of replica "r1" where each advertiser's shard has the given owner."""
    owners = {shard_of(a): (owner, 3) for a, owner in assign.items()}
    alive = tuple(sorted({o for o in assign.values() if o} | {"r1"}))
    return Assignment("r1", alive, owners)


def test_only_the_advertisers_this_replica_owns_are_judged_the_rest_summed_up() -> None:
    state, clock = build_state(["a", "b", "c"], [(60, "a", True)])
    state.set_assignment(shard_owner({"a": "r1", "b": "r2", "c": None}))
    state.poll_done(PollOutcome("b", PollResult.NOT_MINE, reason="polled by replica r2"))  # not recorded
    clock.set(T0 + timedelta(seconds=90))
    ok, details = state.status()
    assert ok and details["status"] == "ok" and list(details["advertisers"]) == ["a"]
    assert details["replica"] == {
        "id": "r1",
        "alive": ["r1", "r2"],
        "shards": 64,
        "owned_shards": 1,
        "advertisers_by_replica": {"r1": ["a"], "r2": ["b"]},
        "unowned_advertisers": ["c"],
    }


def test_a_replica_owning_no_advertiser_is_ok() -> None:
    state, clock = build_state(["a", "b"], [])
    state.set_assignment(shard_owner({"a": "r2", "b": "r2"}))
    clock.set(T0 + timedelta(hours=1))
    ok, details = state.status()
    assert ok and details["status"] == "ok" and "polls none of the 2 advertisers" in details["reason"]
    assert details["advertisers"] == {}


def test_without_replicas_there_is_no_replica_block() -> None:
    state, _ = build_state(["a"], [(60, "a", True)])
    assert state.status()[1]["replica"] is None
