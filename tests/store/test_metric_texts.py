"""A poll's metrics encoded a window at a time (issue 18): :class:`MetricTexts` gives the very text orjson writes
for the whole metrics (the store's canonical form, ``fastjson.dumps``), or None where the general check must
decide (a NaN, an infinity, an integer past 64 bits), whatever windows the entities share."""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import fastjson
from monitor.store.metric_texts import OPTIONS, MetricTexts, plain

NAMES = ("today", "yesterday", "last_7d", "lifetime", "b%s", 'q"', "名", "%")

values = st.one_of(
    st.none(),
    st.integers(-(2**64), 2**64),  # past 64 bits too: orjson refuses those
    st.floats(),  # NaN and the infinities too
    st.sampled_from([0, 0.0, -0.0, 1, 1.0, True]),
    st.text(max_size=4),
)
windows = st.dictionaries(st.sampled_from(["spend", "ctr", "名", "a%s", "z"]), values, max_size=4).map(MappingProxyType)


def expected(metrics: Any) -> str | None:
    """What the text must be: orjson's text of the whole, None when it refuses it or wrote a NaN or infinity."""
    try:
        text = orjson.dumps(metrics, default=plain, option=OPTIONS).decode()
    except orjson.JSONEncodeError:
        return None
    floats = [v for w in metrics.values() for v in w.values() if type(v) is float]
    return text if all(map(math.isfinite, floats)) else None


@settings(max_examples=300)
@given(st.lists(windows, min_size=1, max_size=5), st.data())
def test_each_text_is_orjsons_text_of_the_whole_metrics(pool: list[Any], data: st.DataObject) -> None:
    texts = MetricTexts()  # one per poll: entities drawing from one pool of windows share them
    entities = data.draw(st.lists(st.dictionaries(st.sampled_from(NAMES), st.sampled_from(pool)), max_size=6))
    for metrics in map(MappingProxyType, entities):
        assert texts.text(metrics) == expected(metrics)
        if texts.text(metrics) is not None:
            assert texts.text(metrics) == fastjson.dumps(metrics)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_shared_window_with_a_nan_or_an_infinity_needs_the_general_check_wherever_it_is(bad: float) -> None:
    texts = MetricTexts()
    shared = MappingProxyType({"ctr": bad, "clicks": 0})
    fine = MappingProxyType({"ctr": None, "clicks": 0})
    assert texts.text(MappingProxyType({"today": fine, "yesterday": fine})) == (
        '{"today":{"clicks":0,"ctr":null},"yesterday":{"clicks":0,"ctr":null}}'
    )
    for names in (("today", "yesterday"), ("yesterday",), ("lifetime", "today", "yesterday")):
        assert texts.text(MappingProxyType({n: shared if n == "yesterday" else fine for n in names})) is None


def test_no_windows_and_names_that_are_not_strings() -> None:
    texts = MetricTexts()
    window = MappingProxyType({"spend": 1.5})
    assert texts.text(MappingProxyType({})) == "{}"
    assert texts.text(MappingProxyType({2: window, 1: window})) == '{"1":{"spend":1.5},"2":{"spend":1.5}}'
    assert texts.text(MappingProxyType({"b": window, "a": {"x": 2**70}})) is None
