"""A ratio over a zero count is no data, whatever TikTok sends for it (monitor.domain.ratios): "-", "0.00",
"0" or a number alike; the monitor never reads a real zero there."""

from __future__ import annotations

import pytest

from monitor.domain.hourly import RATIOS
from monitor.domain.ratios import DENOMINATORS, with_denominators, without_undefined_ratios
from monitor.rules.names import METRICS
from monitor.tiktok.models import parse_metric


def row(**raw: str) -> dict:
    return without_undefined_ratios({name: parse_metric(name, value) for name, value in raw.items()})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # the denominator is zero: no data, whether the wire says "0.00", "0", "-" or a number
        ({"cpc": "0.00", "clicks": "0"}, {"cpc": None, "clicks": 0}),
        ({"cpc": "0", "clicks": "0"}, {"cpc": None, "clicks": 0}),
        ({"cpc": "-", "clicks": "0"}, {"cpc": None, "clicks": 0}),
        ({"cpc": "3.10", "clicks": "0"}, {"cpc": None, "clicks": 0}),
        ({"cpm": "0.00", "ctr": "0.00", "impressions": "0"}, {"cpm": None, "ctr": None, "impressions": 0}),
        ({"cost_per_conversion": "0.00", "conversion": "0"}, {"cost_per_conversion": None, "conversion": 0}),
        ({"conversion_rate": "0.00", "clicks": "0"}, {"conversion_rate": None, "clicks": 0}),
        (
            {"real_time_cost_per_conversion": "0.00", "real_time_conversion": "0"},
            {"real_time_cost_per_conversion": None, "real_time_conversion": 0},
        ),
        ({"cost_per_result": "0.00", "result": "0"}, {"cost_per_result": None, "result": 0}),
        ({"frequency": "0.00", "reach": "0"}, {"frequency": None, "reach": 0}),
        ({"cost_per_1000_reached": "0.00", "reach": "0"}, {"cost_per_1000_reached": None, "reach": 0}),
        (
            {"average_video_play": "0.00", "video_play_actions": "0"},
            {"average_video_play": None, "video_play_actions": 0},
        ),
        # the denominator is missing ("-"): the ratio is missing too
        ({"cpc": "0.00", "clicks": "-"}, {"cpc": None, "clicks": None}),
        # a real count: the ratio is kept, zero included (spend 0 over 12 clicks is a real 0.00 cpc)
        ({"cpc": "0.25", "clicks": "12"}, {"cpc": 0.25, "clicks": 12}),
        ({"cpc": "0.00", "clicks": "12"}, {"cpc": 0.0, "clicks": 12}),
        ({"cost_per_conversion": "0.00", "conversion": "3"}, {"cost_per_conversion": 0.0, "conversion": 3}),
        # "-" stays no data with or without its denominator
        ({"cost_per_conversion": "-", "conversion": "2"}, {"cost_per_conversion": None, "conversion": 2}),
        ({"cost_per_conversion": "-"}, {"cost_per_conversion": None}),
        # no denominator in the row (a report that did not ask for it): the ratio as sent
        ({"cpc": "0.40"}, {"cpc": 0.4}),
        # counts and money are never ratios: a zero stays a zero
        ({"spend": "0.00", "clicks": "0", "conversion": "0"}, {"spend": 0.0, "clicks": 0, "conversion": 0}),
    ],
)
def test_a_ratio_over_a_zero_count_is_no_data(raw, expected):
    assert row(**raw) == expected


def test_the_input_is_not_changed():
    metrics = {"cpc": 0.0, "clicks": 0}
    assert without_undefined_ratios(metrics) == {"cpc": None, "clicks": 0}
    assert metrics == {"cpc": 0.0, "clicks": 0}


def test_reports_ask_for_each_ratios_denominator_once_in_order():
    assert with_denominators(("spend", "cpc", "ctr", "cpm", "clicks")) == (
        "spend",
        "cpc",
        "clicks",
        "ctr",
        "impressions",
        "cpm",
    )
    assert with_denominators(("spend",)) == ("spend",)
    assert with_denominators(()) == ()


def test_every_ratio_a_rule_can_read_has_its_denominator():
    ratios = {m for m in METRICS if m.startswith(("cost_per_", "real_time_cost_per_", "value_per_", "average_"))}
    ratios |= {m for m in METRICS if m.endswith("_rate") or m.endswith("_rate_v2")} | {"ctr", "cpc", "cpm", "frequency"}
    assert ratios <= set(DENOMINATORS)
    assert set(DENOMINATORS.values()) <= METRICS  # a denominator is itself a metric a report can give


def test_the_hourly_windows_divide_by_the_same_counts():
    for name, (_, denominator, _) in RATIOS.items():
        assert DENOMINATORS[name] == denominator, name
