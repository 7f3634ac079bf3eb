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


MALLOC_PROBE = """
import json, sys
from monitor.gctune import tune_malloc

def unnamed() -> int:  # bytes in anonymous mappings of their own (the heap is named [heap])
    total = 0
    for line in open("/proc/self/maps"):
        fields = line.split()
        if len(fields) == 5:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            total += end - start
    return total

block = bytearray(24 << 20)
del block  # glibc: freeing a mapped 24 MB block raises its threshold to 24 MB
tuned = tune_malloc() if sys.argv[1] == "tune" else None
before = unnamed()
block = bytearray(12 << 20)
print(json.dumps({"tuned": tuned, "mapped": unnamed() - before >= 12 << 20}))
"""


def test_large_blocks_stay_mapped_apart_once_tuned() -> None:
    """Issue 18 (peak memory): a large block freed does not send the next large blocks to the heap, where what
    they leave when freed stays in the process."""
    seen = {}
    for mode in ("default", "tune"):
        out = subprocess.run(
            [sys.executable, "-c", MALLOC_PROBE, mode], capture_output=True, text=True, check=True, timeout=60
        )
        seen[mode] = json.loads(out.stdout)
    assert seen["default"] == {"tuned": None, "mapped": False}  # glibc's own way: from the heap
    assert seen["tune"] == {"tuned": True, "mapped": True}


TRIM_PROBE = """
import json, sys
from monitor.gctune import trim_malloc, tune_malloc

def resident() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) << 10
    raise RuntimeError("no VmRSS")

def touched(size: int) -> bytearray:  # each page written (resident), with no block freed in between
    block = bytearray(size)
    block[::4096] = b"x" * len(range(0, size, 4096))
    return block

tune_malloc()  # as run has it: blocks under 4 MB come from the heap
blocks = [touched(64 << 10) for _ in range(3200)]  # 200 MB of 64 kB blocks
pin = touched(64 << 10)  # the heap's top stays in use: glibc cannot give back what lies below it by itself
del blocks
freed = resident()
trimmed = trim_malloc() if sys.argv[1] == "trim" else None
print(json.dumps({"trimmed": trimmed, "given_back": freed - resident()}))
"""


def test_a_trim_gives_back_the_free_memory_inside_the_heap() -> None:
    """What ``run`` does after a large poll (monitor.gctune.trim_malloc): memory freed below a block still in use
    stays resident until trimmed."""
    seen = {}
    for mode in ("leave", "trim"):
        out = subprocess.run(
            [sys.executable, "-c", TRIM_PROBE, mode], capture_output=True, text=True, check=True, timeout=60
        )
        seen[mode] = json.loads(out.stdout)
    assert seen["leave"]["trimmed"] is None and seen["leave"]["given_back"] < 20 << 20  # freed, yet resident
    assert seen["trim"]["trimmed"] is True and seen["trim"]["given_back"] > 150 << 20
