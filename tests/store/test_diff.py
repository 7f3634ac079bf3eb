"""diff_snapshots is pure: table-driven cases on hand-made snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.domain import Level, Snapshot
from monitor.store import FieldChange, MetricDelta, diff_snapshots

from .conftest import ADV, T0, state

AD = Level.AD
CAMPAIGN = Level.CAMPAIGN


def snap(*states: Any, poll_id: int = 1, advertiser_id: str = ADV) -> Snapshot:
    return Snapshot(advertiser_id, poll_id, T0, {s.key: s for s in states})


def test_first_poll_everything_appeared_nothing_changed() -> None:
    current = snap(state("c1", CAMPAIGN), state("a1"), state("a2"))
    result = diff_snapshots(None, current)
    assert [s.key for s in result.appeared] == [(CAMPAIGN, "c1"), (AD, "a1"), (AD, "a2")]
    assert result.changed == () and result.disappeared == () and result.metric_deltas == ()


def test_identical_snapshots_give_an_empty_diff() -> None:
    states = (state("c1", CAMPAIGN), state("a1"))
    assert diff_snapshots(snap(*states), snap(*states, poll_id=2)).empty


def test_entity_new_in_this_poll_is_appeared_not_changed() -> None:
    result = diff_snapshots(snap(state("a1")), snap(state("a1"), state("a2", name="brand new")))
    assert [s.id for s in result.appeared] == ["a2"]
    assert result.changed == ()


def test_disappeared() -> None:
    result = diff_snapshots(snap(state("a1"), state("a2")), snap(state("a2")))
    assert [s.id for s in result.disappeared] == ["a1"]
    assert result.appeared == () and result.changed == ()


@pytest.mark.parametrize(
    ("field", "before", "after"),
    [
        ("operation_status", "ENABLE", "DISABLE"),
        ("secondary_status", "AD_STATUS_DELIVERY_OK", "AD_STATUS_AUDIT_DENY"),
        ("budget", 100.0, 150.0),
        ("budget", None, 50.0),
        ("budget", 50.0, None),
        ("budget_mode", "BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL"),
        ("name", "Summer sale", "Summer sale v2"),
        ("name", None, "named at last"),
    ],
)
def test_each_tracked_field_change(field: str, before: Any, after: Any) -> None:
    result = diff_snapshots(snap(state("a1", **{field: before})), snap(state("a1", **{field: after})))
    assert result.changed == (FieldChange((AD, "a1"), field, before, after),)
    assert result.changed_fields((AD, "a1")) == {field}
    assert result.appeared == () and result.disappeared == () and result.metric_deltas == ()


def test_several_fields_of_one_entity_change_in_one_poll() -> None:
    result = diff_snapshots(
        snap(state("g1", Level.ADGROUP, operation_status="ENABLE", budget=20.0)),
        snap(state("g1", Level.ADGROUP, operation_status="DISABLE", budget=30.0)),
    )
    assert result.changed_fields((Level.ADGROUP, "g1")) == {"operation_status", "budget"}


def test_parent_ids_are_not_tracked_fields() -> None:
    assert diff_snapshots(snap(state("a1", adgroup_id="g1")), snap(state("a1", adgroup_id="g2"))).changed == ()


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # (metrics before, metrics after, [(window, metric, before, after, delta)])
        ({"today": {"spend": 10.0}}, {"today": {"spend": 12.5}}, [("today", "spend", 10.0, 12.5, 2.5)]),
        ({"today": {"clicks": 3}}, {"today": {"clicks": 7}}, [("today", "clicks", 3, 7, 4)]),
        ({"today": {"spend": 10.0}}, {"today": {"spend": 10.0}}, []),
        # "no data" is not zero: None -> 0 is a change without a numeric delta, and the other way round
        ({"today": {"conversion": None}}, {"today": {"conversion": 0}}, [("today", "conversion", None, 0, None)]),
        ({"today": {"conversion": 0}}, {"today": {"conversion": None}}, [("today", "conversion", 0, None, None)]),
        ({"today": {"cpc": None}}, {"today": {"cpc": None}}, []),
        # a metric missing on one side is None there
        ({"today": {}}, {"today": {"spend": 1.0}}, [("today", "spend", None, 1.0, None)]),
        ({"today": {"spend": 1.0}}, {}, [("today", "spend", 1.0, None, None)]),
        # windows are compared separately; a new day makes "today" fall
        (
            {"today": {"spend": 90.0}, "yesterday": {"spend": 40.0}},
            {"today": {"spend": 2.0}, "yesterday": {"spend": 90.0}},
            [("today", "spend", 90.0, 2.0, -88.0), ("yesterday", "spend", 40.0, 90.0, 50.0)],
        ),
        # attribute metrics are strings: reported, no delta
        ({"today": {"currency": "USD"}}, {"today": {"currency": "EUR"}}, [("today", "currency", "USD", "EUR", None)]),
    ],
)
def test_metric_deltas(before: dict[str, Any], after: dict[str, Any], expected: list[tuple[Any, ...]]) -> None:
    result = diff_snapshots(snap(state("a1", metrics=before)), snap(state("a1", metrics=after)))
    assert result.metric_deltas == tuple(MetricDelta((AD, "a1"), *row) for row in expected)
    assert result.changed == ()


def test_appeared_and_disappeared_entities_have_no_metric_deltas() -> None:
    result = diff_snapshots(snap(state("a1", metrics={"today": {"spend": 5.0}})), snap(state("a2")))
    assert result.metric_deltas == ()


def test_results_are_ordered_top_down_then_by_id() -> None:
    before = snap(state("a2", budget=None), state("c9", CAMPAIGN, budget=1.0), state("a1", budget=None))
    after = snap(state("a2", budget=5.0), state("c9", CAMPAIGN, budget=2.0), state("a1", budget=5.0))
    assert [c.key for c in diff_snapshots(before, after).changed] == [(CAMPAIGN, "c9"), (AD, "a1"), (AD, "a2")]


def test_snapshots_of_different_advertisers_are_refused() -> None:
    with pytest.raises(ValueError, match="different advertisers"):
        diff_snapshots(snap(state("a1")), snap(state("a1", advertiser_id="other"), advertiser_id="other"))


def test_without_metrics_the_diff_has_the_same_entities_and_fields_and_no_deltas() -> None:
    before = snap(
        state("c1", CAMPAIGN, budget=100.0),
        state("a1", metrics={"today": {"spend": 1.0}}),
        state("a2", name="old", metrics={"today": {"spend": 2.0}}),
        state("a3"),
    )
    after = snap(
        state("c1", CAMPAIGN, budget=150.0),
        state("a1", metrics={"today": {"spend": 9.0}}),
        state("a2", name="new", metrics={"today": {"spend": 2.0}}),
        state("a4"),
        poll_id=2,
    )
    full, fields_only = diff_snapshots(before, after), diff_snapshots(before, after, metrics=False)
    assert fields_only.changed == full.changed and len(full.changed) == 2
    assert fields_only.appeared == full.appeared and fields_only.disappeared == full.disappeared
    assert full.metric_deltas and fields_only.metric_deltas == ()
