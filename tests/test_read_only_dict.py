"""monitor.domain.values.ReadOnlyDict: what a poll's fetch builds metrics of (issue 18). It must refuse every
change a read-only proxy refuses, read and compare as the dict it holds, and encode to the very text the proxies
encoded to (the store compares a new poll's text with the stored one: any other text would rewrite every row)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from monitor import fastjson
from monitor.domain import EntityState, Level
from monitor.domain.stored import StoredMetrics, read_only
from monitor.domain.values import READ_ONLY, ReadOnlyDict, freeze_metrics
from monitor.store.poll_changes import stored_text

CHANGES: dict[str, Callable[[dict[str, Any]], object]] = {
    "set": lambda d: d.__setitem__("spend", 1.0),
    "delete": lambda d: d.__delitem__("spend"),
    "setdefault": lambda d: d.setdefault("new", 1.0),
    "pop": lambda d: d.pop("spend"),
    "popitem": lambda d: d.popitem(),
    "clear": lambda d: d.clear(),
    "update": lambda d: d.update(new=1.0),
    "in-place or": lambda d: d.__ior__({"new": 1.0}),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_every_change_is_refused_as_a_proxy_refuses_it(change: Callable[[dict[str, Any]], object]) -> None:
    made, proxy = ReadOnlyDict(spend=2.5, cpc=None), MappingProxyType({"spend": 2.5, "cpc": None})
    with pytest.raises((TypeError, AttributeError)):
        change(proxy)  # type: ignore[arg-type]  # the proxy has no such method, or refuses it
    with pytest.raises(TypeError, match="ReadOnlyDict"):
        change(made)
    assert made == {"spend": 2.5, "cpc": None}


def test_only_dicts_own_methods_called_on_it_get_round_the_refusal() -> None:
    made = ReadOnlyDict(spend=2.5)
    dict.__setitem__(made, "cpc", 0.5)  # how its maker fills it (monitor.fetch_states), before anyone holds it
    made.__init__(clicks=3)  # type: ignore[misc]  # not overridden (a call per window): as documented
    assert made == {"spend": 2.5, "cpc": 0.5, "clicks": 3}


def test_it_reads_as_a_dict_and_its_copies_are_plain_dicts() -> None:
    made = ReadOnlyDict((("spend", 2.5), ("cpc", None)))
    assert made.get("spend") == 2.5 and made.get("clicks") is None and made["cpc"] is None and len(made) == 2
    assert made == {"spend": 2.5, "cpc": None} == MappingProxyType({"spend": 2.5, "cpc": None})
    for copied in (made.copy(), made | {"x": 1}, dict(made)):
        assert type(copied) is dict
    assert copy.copy(made) is made and copy.deepcopy(made) is made  # nothing in it can change
    back = pickle.loads(pickle.dumps(made))  # noqa: S301  # our own bytes
    assert type(back) is ReadOnlyDict and back == made
    with pytest.raises(TypeError):
        hash(made)  # unhashable, as the proxies were


metric_values = st.one_of(
    st.none(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5)
)
windows_of_values = st.dictionaries(
    st.sampled_from(["today", "yesterday", "last_7d", "last_3h"]),
    st.dictionaries(st.sampled_from(["spend", "cpc", "ctr", "conversion", "status"]), metric_values, max_size=5),
    max_size=4,
)


@given(windows_of_values)
@example({"today": {"spend": 2**70, "cpc": -0.0}, "yesterday": {}})  # past 64 bits: the standard library's encoder
def test_it_encodes_to_the_text_read_only_proxies_encode_to(windows: dict[str, dict[str, Any]]) -> None:
    proxies = MappingProxyType({w: MappingProxyType(dict(v)) for w, v in windows.items()})
    made = ReadOnlyDict((w, ReadOnlyDict(v)) for w, v in windows.items())
    text = fastjson.dumps(proxies)
    assert fastjson.dumps(made) == text
    if all(type(v) is not int or -(2**63) <= v < 2**64 for values in windows.values() for v in values.values()):
        assert orjson.dumps(made, option=orjson.OPT_SORT_KEYS).decode() == text  # as it is, no call into Python
    states = [EntityState(level=Level.AD, id="1", advertiser_id="7", metrics=m) for m in (proxies, made)]
    assert stored_text(states[0]) == stored_text(states[1])  # the store's comparison sees no change


def test_freeze_metrics_keeps_read_only_dicts_and_wraps_anything_else() -> None:
    made = ReadOnlyDict(today=ReadOnlyDict(spend=1.0))
    assert freeze_metrics(made) is made
    mixed = ReadOnlyDict(today=MappingProxyType({"spend": 1.0}))
    assert freeze_metrics(mixed) is mixed  # read-only all the way down: either kind
    loose = ReadOnlyDict(today={"spend": 1.0})  # a window that can change: frozen as before
    frozen = freeze_metrics(loose)
    assert frozen == loose and type(frozen) in READ_ONLY and all(type(w) in READ_ONLY for w in frozen.values())
    assert frozen is not loose


def test_stored_metrics_keep_a_read_only_dict_window_they_were_handed() -> None:
    """A changed entity's previous metrics take the new poll's window where it did not change (the comparison's
    sharing, monitor.store.history_codec): reading it gives that very window, not a proxy made around it."""
    shared = ReadOnlyDict(spend=1.0)
    parsed = StoredMetrics('{"today":{"spend":2.0},"yesterday":{"spend":1.0}}')
    handed, _ = parsed.parse_text(hand_over=True)
    assert handed is not None
    moved, handed["yesterday"] = handed["today"], shared  # the comparison shares the new poll's equal window
    assert parsed["yesterday"] is shared and parsed.get("yesterday") is shared
    assert type(parsed["today"]) is MappingProxyType and parsed["today"] == moved  # a plain dict: wrapped
    decoded = read_only({"today": moved, "yesterday": shared})
    assert decoded["yesterday"] is shared and type(decoded["today"]) is MappingProxyType
