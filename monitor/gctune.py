"""The cyclic garbage collector, tuned for a process that builds 100,000s of objects per poll.

A poll of a large account builds a snapshot of containers (an :class:`~monitor.domain.EntityState` with its
read-only metrics per entity, about eight tracked objects each) while the previous snapshot is alive. With
CPython's default thresholds (700, 10, 10) the collector runs a young collection every 700 new containers and
rescans the whole heap each time it has grown by a quarter, so a 100,000-ad poll spent about a third of its CPU
in the collector (issue 18: `bench/cycle.py`, 14-15 s of CPU for a warm `once` with the defaults, 9-10 s with
this tuning, same result). Two changes, both common practice for long-running Python services:

* :func:`gc.freeze` after start-up: the modules, classes and functions imported at start live as long as the
  process; frozen, no collection scans them again;
* a first-generation threshold of 20,000 instead of 700: young collections come 30 times less often, so far
  fewer objects of a poll in progress are promoted and rescanned. The older generations keep their defaults,
  so a full collection still follows every 2,000,000 or so net allocations: cyclic garbage (SQLAlchemy's
  statements, for one) is still reclaimed within a poll or two, which ``bench/soak.py`` watches.

Reference counting, which frees almost everything a poll drops (snapshots hold no cycles), is not affected.
"""

from __future__ import annotations

import gc

#: Containers allocated (net) between two young collections; CPython's default is 700.
YOUNG_THRESHOLD = 20_000


def tune_collector() -> None:
    """Raise the young generation's threshold and freeze what start-up built, once per process (a second call,
    e.g. a test running several commands in one process, changes nothing)."""
    _, middle, old = gc.get_threshold()
    if gc.get_freeze_count() and gc.get_threshold()[0] == YOUNG_THRESHOLD:
        return
    gc.collect()  # start-up's garbage is not frozen with it (a few tens of milliseconds)
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
