"""The collector's tuning (monitor.gctune): thresholds raised, start-up frozen, once per process."""

from __future__ import annotations

import json
import subprocess
import sys
import weakref

from monitor.gctune import MIDDLE_THRESHOLD, YOUNG_THRESHOLD, collect_all

PROBE = """
import gc, json
from monitor.gctune import tune_collector
before = gc.get_threshold()
tune_collector()
frozen = gc.get_freeze_count()
tune_collector()  # a second call changes nothing (no second freeze of later objects)
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": frozen, "again": gc.get_freeze_count()}))
"""


def test_tuning_raises_the_thresholds_and_freezes_start_up_once() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60)
    seen = json.loads(out.stdout)
    assert seen["before"] == [700, 10, 10]
    assert seen["after"] == [YOUNG_THRESHOLD, MIDDLE_THRESHOLD, 10]
    assert seen["frozen"] > 1000  # the imported modules' objects
    assert seen["again"] == seen["frozen"]


def test_the_hourly_full_collection_frees_cyclic_garbage() -> None:
    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle: only the collector frees it
    probe = weakref.ref(a)
    del a, b
    collect_all()
    assert probe() is None
