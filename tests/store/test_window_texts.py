"""monitor.store.poll_changes takes a window whose text is the same before and after (the texts split at their
braces: monitor.store.history_codec.entity_events' ``same``) as unchanged without comparing its values: the
history rows must be exactly those of comparing every window as values (equal values of equal types and signs),
for previous texts in the canonical form or another (the standard library's), and values that hold braces,
brackets, quotes, 0 and 0.0, -0.0, booleans and integers past 64 bits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import fastjson
from monitor.domain import EntityState, Level
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import ReadOnlyDict
from monitor.store.history_codec import same_values
from monitor.store.poll_changes import poll_changes

from .conftest import ADV

WINDOWS = ("today", "yesterday", "lifetime")
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 0.0, -0.0, 1, 1.0, 2**70]),
    st.text(alphabet='{}[]":, a', max_size=4),
)
windows = st.dictionaries(st.sampled_from(["spend", "clicks", "ctr"]), values, max_size=3)
FORMS = {
    "canonical": fastjson.dumps,
    "standard library": lambda m: json.dumps(m, sort_keys=True),
    "compact standard library": lambda m: json.dumps(m, sort_keys=True, separators=(",", ":")),
}


def fetched(metrics: dict[str, dict[str, Any]]) -> ReadOnlyDict:
    return ReadOnlyDict((w, ReadOnlyDict(v)) for w, v in metrics.items())


def moved_windows(old: dict[str, dict[str, Any]], new: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The windows whose values moved (same_values), then those no longer reported, each in sorted order."""
    return [w for w in sorted(new) if not same_values(old.get(w), new[w])] + sorted(set(old) - set(new))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(1, 5), form=st.sampled_from(sorted(FORMS)))
def test_windows_are_compared_as_their_values_whatever_their_text(data: st.DataObject, n: int, form: str) -> None:
    olds, news = [], []
    for i in range(n):
        grid = data.draw(st.dictionaries(st.sampled_from(WINDOWS), windows, max_size=3))
        moved = data.draw(st.dictionaries(st.sampled_from(WINDOWS), windows, max_size=3))
        kept = {w: dict(v) for w, v in grid.items() if data.draw(st.booleans())}  # equal windows, other objects
        olds.append(EntityState(Level.AD, f"a{i}", ADV, metrics=StoredMetrics(FORMS[form](grid))))
        news.append(EntityState(Level.AD, f"a{i}", ADV, metrics=fetched({**moved, **kept})))
    # an equal text is an unchanged entity; else each window compared as values: the old text parsed
    texts = [old.metrics.text for old in olds]  # type: ignore[attr-defined]
    expected = [
        moved_windows(fastjson.loads(text), new.metrics) if text != fastjson.dumps(new.metrics) else []
        for new, text in zip(news, texts, strict=True)
    ]

    _, history = poll_changes({s.key: s for s in olds}, {s.key: s for s in news}, [Level.AD])

    keys = [new.key for new in news]
    assert [(e.key, e.window) for e in history.windows] == [
        (k, w) for k, ws in zip(keys, expected, strict=True) for w in ws
    ]
    by_key = {s.key: s for s in news}
    assert all(e.values is by_key[e.key].metrics.get(e.window) for e in history.windows)  # the new windows
