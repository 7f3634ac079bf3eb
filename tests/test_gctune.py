"""The collector's tuning (monitor.gctune): thresholds raised, start-up frozen, once per process."""

from __future__ import annotations

import json
import subprocess
import sys

from monitor.gctune import MIDDLE_THRESHOLD, YOUNG_THRESHOLD

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
