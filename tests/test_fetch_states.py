"""A poll's entity states, built in bulk from list pages and report columns (monitor.fetch_states), against the
general way over real HTTP to the sandbox: each entity read with ``Entity.from_api``, each report row's values
put in a dict, the state made with ``EntityState(...)``. The same snapshot: the same states, fields and metric
types (0 stays 0, 0.0 stays 0.0, missing stays missing)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.domain import EntityState, Level, MetricValue, sorted_states
from monitor.domain.building import build_states
from monitor.domain.values import EMPTY, ReadOnlyDict
from monitor.domain.windows import window_hours
from monitor.fetch import FetchPlan, LevelPlan, entity_state, fetch_snapshot, window_query
from monitor.fetch_hours import HourlyRows, hourly_queries, hourly_windows
from monitor.fetch_states import Aligned, _exact, _shareable, add_hours, join_window, level_states
from monitor.sandbox import SandboxSettings
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import DEFAULT_FIELDS, AdvertiserInfo, Entity, ReportTable
from monitor.tiktok.shape import Fields, Where

ADV = "7000000000000000001"
PLAN = FetchPlan(
    {
        Level.ADVERTISER: LevelPlan(windows={"today": ("spend",), "last_hour": ("spend",)}),
        Level.CAMPAIGN: LevelPlan(
            DEFAULT_FIELDS[Level.CAMPAIGN],
            {"today": ("spend", "conversion"), "lifetime": ("spend",), "last_3h": ("spend", "cpc")},
        ),
        Level.ADGROUP: LevelPlan(
            DEFAULT_FIELDS[Level.ADGROUP], {"today": ("spend", "clicks", "cpc", "ctr"), "yesterday": ("conversion",)}
        ),
        Level.AD: LevelPlan(
            DEFAULT_FIELDS[Level.AD], {"today": ("spend", "impressions", "cpc"), "last_7d": ("conversion", "spend")}
        ),
    }
)


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(campaigns_per_advertiser=4, adgroups_per_campaign=3, ads_per_adgroup=5)


async def general(client: TikTokClient, advertiser: AdvertiserInfo, plan: FetchPlan, now: datetime) -> list[Any]:
    """The snapshot the general way: Entity.from_api per row, a dict per report row, EntityState(...)."""
    today, zone = advertiser.local_date(now), advertiser.zone()
    states: list[EntityState] = []
    for level, level_plan in plan.levels.items():
        hourly = hourly_windows(level_plan.windows)
        values: dict[str, dict[str, dict[str, MetricValue]]] = {}
        for window, wanted in level_plan.windows.items():
            if window in hourly:
                continue
            report = await client.report(ADV, window_query(window, level, wanted, today))
            for row in report.rows:
                if row.dimensions.get(level.id_field):
                    values.setdefault(row.dimensions[level.id_field], {})[window] = {
                        m: row.metrics.get(m) for m in wanted
                    }
        hours = HourlyRows()
        for _, query in hourly_queries(level, hourly, now, zone):
            hours.add(await client.report(ADV, query), level.id_field)
        if level is Level.ADVERTISER:
            entities = [advertiser]
        else:
            response = await client.transport.request(
                "GET",
                f"{level.value}/get/",
                params={"advertiser_id": ADV, "page_size": 1000, "fields": list(level_plan.fields)},
            )
            data = Fields.of(response.payload, "data", Where(f"{level.value}/get/", ADV))
            entities = [Entity.from_api(level, ADV, row) for row in data.rows()]
        for entity in entities:
            mine = values.get(entity.id, {})
            if hourly:
                mine = {**mine, **hours.values(entity.id, hourly, now, zone)}
            if isinstance(entity, Entity):
                states.append(entity_state(entity, mine or None))
            else:
                states.append(
                    EntityState(Level.ADVERTISER, ADV, ADV, entity.name, secondary_status=entity.status, metrics=mine)
                )
    return sorted_states(states)


def types_of(state: EntityState) -> tuple[Any, ...]:
    fields = (state.name, state.operation_status, state.secondary_status, state.budget, state.budget_mode)
    metrics = {w: {k: type(v) for k, v in m.items()} for w, m in state.metrics.items()}
    return (*map(type, fields), type(state.campaign_id), type(state.adgroup_id), metrics)


@pytest.mark.parametrize("sync_report_ads", [20_000, 0])  # 0: ad-level reports by task, read from CSV
async def test_a_snapshot_is_the_one_the_general_way_builds(clock, make_client, sync_report_ads) -> None:
    client = make_client()
    client.sync_report_ads = sync_report_ads
    advertiser = (await client.advertiser_info([ADV]))[0]
    fetched = await fetch_snapshot(client, advertiser, PLAN, clock.now())
    assert not fetched.errors
    assert fetched.finite  # every window's values vouched for or checked (the store need not check them)
    built, expected = sorted_states(fetched.states), await general(client, advertiser, PLAN, clock.now())
    assert {s.level for s in built} == set(Level) and len(built) == 1 + 4 + 12 + 60
    assert built == expected
    assert [types_of(s) for s in built] == [types_of(s) for s in expected]
    assert any(not s.metrics for s in built if s.level is Level.AD)  # disabled ads: no report row, no windows
    for state in built:  # read-only all the way down, one object a window (monitor.domain.values.ReadOnlyDict)
        assert type(state.metrics) is ReadOnlyDict or state.metrics is EMPTY
        assert all(type(window) is ReadOnlyDict for window in state.metrics.values())
    with pytest.raises(TypeError):
        next(s for s in built if s.metrics).metrics["today"] = {}  # type: ignore[index]


async def test_report_columns_join_as_their_rows_would() -> None:
    table = ReportTable(
        {"ad_id": ["1", "2", "", "1", "3"], "ad_id_v2": ["", "", "", "", "9"]},
        {"spend": [1.5, 0, 0.0, 2, None], "cpc": [None, 0.5, 1.0, None, 2.5]},
    )
    into: dict[str, dict[str, Any]] = {"2": {"yesterday": MappingProxyType({"spend": 3})}}
    await join_window(into, table, Level.AD, "today", ("spend", "impressions"))
    assert into == {
        "1": {"today": {"spend": 2, "impressions": None}},  # the last row of an id counts
        "2": {"yesterday": {"spend": 3}, "today": {"spend": 0, "impressions": None}},
        "9": {"today": {"spend": None, "impressions": None}},  # an Upgraded Smart+ ad: keyed by ad_id_v2
    }
    assert type(into["2"]["today"]["spend"]) is int and type(into["1"]["today"]["spend"]) is int
    assert type(into["2"]["yesterday"]) is MappingProxyType  # the window it had is kept, the new ones made read-only
    assert all(type(windows["today"]) is ReadOnlyDict for windows in into.values())
    assert type(into["1"]) is ReadOnlyDict  # an entity's dict of windows made here is read-only too


cells = st.sampled_from([None, 0, 0.0, -0.0, 1, 1.0, 2.5, -2.5, "x", "0"])


@st.composite
def tables(draw: st.DrawFn) -> tuple[ReportTable, tuple[str, ...]]:
    n = draw(st.integers(0, 12))
    names = draw(st.lists(st.sampled_from(["spend", "clicks", "cpc", "campaign_name"]), unique=True, max_size=3))
    column = st.one_of(  # homogeneous columns (as most are) or any mix
        st.sampled_from([[1.5] * n, [0.0] * n, [0] * n, [None] * n]),
        st.lists(st.sampled_from([0.0, 1.5, None]), min_size=n, max_size=n),
        st.lists(st.sampled_from([0, 3]), min_size=n, max_size=n),
        st.lists(cells, min_size=n, max_size=n),
    )
    metrics = {name: draw(column) for name in names}
    ids = draw(st.lists(st.sampled_from(["1", "2", "3", ""]), min_size=n, max_size=n))
    wanted = tuple(draw(st.permutations([*names, "impressions"])))  # one the report lacks
    return ReportTable({"ad_id": ids}, metrics), wanted


def exactly(value: Any) -> tuple[type, str]:
    return (type(value), repr(value))  # repr: -0.0 is not 0.0


@settings(max_examples=300, deadline=None)
@given(tables())
def test_joined_windows_hold_each_rows_own_values(case: tuple[ReportTable, tuple[str, ...]]) -> None:
    """Rows with equal values may share one window object, never one with a 0 for a 0.0 or 0.0 for -0.0."""
    table, wanted = case
    into: dict[str, dict[str, Any]] = {}
    asyncio.run(join_window(into, table, Level.AD, "today", wanted))
    expected: dict[str, dict[str, Any]] = {}
    for dims, values in table.records():
        if dims["ad_id"]:
            expected[dims["ad_id"]] = {"today": {m: values.get(m) for m in wanted}}
    assert into == expected
    assert {i: {w: [exactly(v) for v in m.values()] for w, m in ws.items()} for i, ws in into.items()} == {
        i: {w: [exactly(v) for v in m.values()] for w, m in ws.items()} for i, ws in expected.items()
    }


async def test_rows_with_the_same_values_share_one_window() -> None:
    table = ReportTable(
        {"ad_id": ["1", "2", "3", "4", "5"]},
        {"spend": [0.0, 0.0, 1.5, 0.0, None], "clicks": [0, 0, 2, 0, None], "cpc": [None, None, 0.75, None, None]},
    )
    into: dict[str, dict[str, Any]] = {}
    await join_window(into, table, Level.AD, "today", ("spend", "clicks", "cpc"))
    assert into["1"]["today"] is into["2"]["today"] is into["4"]["today"]
    assert len({id(w["today"]) for w in into.values()}) == 3
    mixed = ReportTable({"ad_id": ["1", "2"]}, {"spend": [0, 0.0]})  # 0 == 0.0, but an int is not a float
    await join_window(into, mixed, Level.AD, "yesterday", ("spend",))
    assert [type(into[i]["yesterday"]["spend"]) for i in ("1", "2")] == [int, float]
    signed = ReportTable({"ad_id": ["1", "2"]}, {"spend": [0.0, -0.0]})
    await join_window(into, signed, Level.AD, "last_7d", ("spend",))
    assert [repr(into[i]["last_7d"]["spend"]) for i in ("1", "2")] == ["0.0", "-0.0"]


def test_equal_hourly_windows_are_shared_and_each_is_the_entitys_own_values() -> None:
    now = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
    hours_3h = window_hours("last_3h", now, UTC)
    rows = {
        "3": {hour: {"spend": 2.5, "clicks": 1} for hour in hours_3h},
        "4": {hours_3h[0]: {"spend": 0.0, "clicks": 0}},
    }
    hours = HourlyRows(reported=set(hours_3h), rows=rows)
    windows = {"last_3h": ("spend", "clicks", "cpc"), "this_hour": ("spend",)}
    into: dict[str, dict[str, Any]] = {"1": {"today": MappingProxyType({"spend": 0.0})}}
    add_hours(into, ["1", "2", "3", "4"], hours, windows, now, UTC)
    for entity_id in ("1", "2", "3", "4"):
        expected = hours.values(entity_id, windows, now, UTC)
        assert {w: into[entity_id][w] for w in windows} == expected
        for window, values in expected.items():
            assert [exactly(v) for v in into[entity_id][window].values()] == [exactly(v) for v in values.values()]
            assert type(into[entity_id][window]) is ReadOnlyDict
    assert set(into["1"]) == {"today", "last_3h", "this_hour"}  # the report's windows kept
    assert into["1"]["last_3h"] is into["2"]["last_3h"]  # nothing spent: one window
    assert into["2"]["last_3h"] is not into["4"]["last_3h"]  # 0.0 spent in one hour: spend 0.0, not 0
    assert into["3"]["last_3h"]["cpc"] == 2.5 and into["1"]["this_hour"]["spend"] is None


def test_only_values_that_are_the_same_when_equal_share_a_window() -> None:
    assert _exact([0, None, "x"]) == _exact([0, None, "x"]) != _exact([0.0, None, "x"])
    assert _exact([-0.0]) is None and _exact([float("nan")]) is None and _exact([-1.5]) is None


@st.composite
def window_reports(draw: st.DrawFn) -> list[tuple[str, ReportTable]]:
    """A level's reports of several windows: ids blank, repeated, in one report and not another, or all the same
    (in the same order: as most reports of a level list them, an equal list of other strings)."""
    pool = draw(st.lists(st.sampled_from(["1", "2", "3", "4", "5", ""]), min_size=1, max_size=6, unique=True))
    reports: list[tuple[str, ReportTable]] = []
    for window in draw(st.lists(st.sampled_from(["today", "yesterday", "last_7d"]), min_size=1, unique=True)):
        if reports and draw(st.booleans()):
            ids = ["".join(["", i]) for i in reports[0][1].dimensions["ad_id"]]
            n = len(ids)
        else:
            n = draw(st.integers(0, 9))
            ids = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
        values = draw(st.lists(st.sampled_from([None, 0, 0.0, -0.0, 1.5]), min_size=n, max_size=n))
        reports.append((window, ReportTable({"ad_id": ids}, {"spend": values})))
    return reports


def joined_row_by_row(reports: list[tuple[str, ReportTable]], wanted: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The general join: every row in order, the last of an id counting, a window added to an entity's dict."""
    into: dict[str, dict[str, Any]] = {}
    for window, table in reports:
        for dims, values in table.records():
            if dims["ad_id"]:
                into.setdefault(dims["ad_id"], {})[window] = {m: values.get(m) for m in wanted}
    return into


@settings(max_examples=500, deadline=None)
@given(window_reports(), st.integers(1, 4), st.booleans())
def test_a_levels_windows_join_as_row_by_row_whatever_the_slices(
    reports: list[tuple[str, ReportTable]], rows_per_slice: int, by_row: bool
) -> None:
    """The first window makes each entity's dict in one go, a window whose ids all have one is set in one go, and
    (``by_row``: Aligned) one of the first report's very ids is put row by row (issue 18); the result is the
    row-by-row join's, windows in the same order, values of the same types."""
    into: dict[str, dict[str, Any]] = {}
    aligned = Aligned() if by_row else None
    for window, table in reports:
        asyncio.run(
            join_window(into, table, Level.AD, window, ("spend",), rows_per_slice=rows_per_slice, aligned=aligned)
        )
    expected = joined_row_by_row(reports, ("spend",))
    assert into == expected
    assert {i: [(w, [exactly(v) for v in m.values()]) for w, m in ws.items()] for i, ws in into.items()} == {
        i: [(w, [exactly(v) for v in m.values()]) for w, m in ws.items()] for i, ws in expected.items()
    }
    assert list(into) == list(expected)  # entities in the order they were first reported
    assert all(type(window) is ReadOnlyDict for windows in into.values() for window in windows.values())


async def test_a_report_whose_rows_nearly_all_differ_stops_sharing_after_its_first_slice() -> None:
    """Sharing costs a lookup per row and saves nothing for today's window, which nearly every ad has its own."""
    spend = [float(i) for i in range(8)] + [0.0, 0.0, 0.0, 0.0]
    table = ReportTable({"ad_id": [str(i) for i in range(12)]}, {"spend": spend})
    into: dict[str, dict[str, Any]] = {}
    await join_window(into, table, Level.AD, "today", ("spend",), rows_per_slice=4)
    assert [into[str(i)]["today"]["spend"] for i in range(12)] == spend
    assert into["8"]["today"] is not into["9"]["today"]  # past the first slice: no more sharing
    mostly_equal = ReportTable({"ad_id": [str(i) for i in range(12)]}, {"spend": [0.0] * 12})
    await join_window(into, mostly_equal, Level.AD, "yesterday", ("spend",), rows_per_slice=4)
    assert len({id(windows["yesterday"]) for windows in into.values()}) == 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["1", "2", "3", "4", "5"]), max_size=12), st.integers(1, 5))
def test_a_levels_states_are_built_in_the_rows_order_and_the_rows_let_go(ids: list[str], rows_per_slice: int) -> None:
    """Built a slice at a time, each slice's rows let go once built: the states of the rows in their order."""
    rows: list[Any] = [(entity_id, f"ad {n}", None, None, None, None, None, None, False) for n, entity_id in
                       enumerate(ids)]  # fmt: skip
    windows: dict[str, dict[str, Any]] = {"2": {"today": MappingProxyType({"spend": 1.5})}}
    expected = build_states(Level.AD, ADV, rows, windows)
    built = asyncio.run(level_states(Level.AD, ADV, rows, windows, rows_per_slice=rows_per_slice))
    assert built == expected and [s.name for s in built] == [f"ad {n}" for n in range(len(ids))]
    assert rows == []  # handed over: emptied


@pytest.mark.parametrize(
    ("column", "shareable"),
    [
        ([0.0, 1.5, None, 0.0], True),
        ([0.0, -1.5], False),  # a negative float beside a zero: -0.0 could be among them
        ([0.0, -0.0], False),
        ([0.0, float("-nan")], False),  # a sign bit set, as copysign reads it
        ([-0.0, None], False),
        ([1.5, -1.5], True),  # no zero: no -0.0 either
        ([0, 0.0], False),  # 0 == 0.0, but an int is not a float
        ([0, -3, None], True),
    ],
)
def test_a_column_is_shared_only_where_equal_values_are_the_same(column: list[Any], shareable: bool) -> None:
    assert _shareable([column]) is shareable
    assert _shareable([[1.0] * len(column), column]) is shareable


async def test_rows_of_one_metric_share_one_window_per_value() -> None:
    table = ReportTable({"ad_id": ["1", "2", "3", "4"]}, {"spend": [None, 2.5, None, 2.5]})
    into: dict[str, dict[str, Any]] = {}
    await join_window(into, table, Level.AD, "today", ("spend",))
    assert into["1"]["today"] is into["3"]["today"] and into["2"]["today"] is into["4"]["today"]
    assert into["1"]["today"] == {"spend": None} and into["2"]["today"] == {"spend": 2.5}


async def test_a_column_that_stops_being_shareable_past_the_first_slice_shares_no_more() -> None:
    """Shareability is checked on the first slice, and on the whole columns only when sharing goes on past it: a
    -0.0 (== 0.0) or a 0 (== 0.0) in a later slice never gets the first slice's window of 0.0."""
    spend: list[Any] = [0.0, 0.0, 0.0, 0.0, -0.0, 0, 0.0, 1.5]
    table = ReportTable({"ad_id": [str(i) for i in range(8)]}, {"spend": spend})
    into: dict[str, dict[str, Any]] = {}
    await join_window(into, table, Level.AD, "today", ("spend",), rows_per_slice=4)
    assert [repr(into[str(i)]["today"]["spend"]) for i in range(8)] == list(map(repr, spend))
    assert into["0"]["today"] is into["3"]["today"]  # the first slice shares
    assert into["6"]["today"] is not into["0"]["today"]  # past it, no more
