"""The cyclic garbage collector and the C allocator, tuned for a process that builds 100,000s of objects per poll.

A poll of a large account builds a snapshot of containers (an :class:`~monitor.domain.EntityState` with its
read-only metrics per entity, about six tracked objects each) while the previous snapshot is alive. With
CPython's default thresholds (700, 10, 10) the collector runs a young collection every 700 new containers, a
middle one every 7,000 and rescans the whole heap each time it has grown by a quarter, so every object of a
snapshot is scanned several times while it is built: a warm `once` of a 100,000-ad account spent about a third
of its CPU in the collector (issue 18; 14-15 s of CPU with the defaults). Measured with ``gc.callbacks`` on the
same poll: 2.2 s in 808 collections at (20,000, 10, 10) and 1.1 s in 234 at (100,000, 20, 10), 10.3 and 9.5 s of
CPU in all; with the collector off, 8.2 s. Two changes, both common practice for long-running Python services:

* no collection while a command imports its modules (:func:`start_up`), then :func:`gc.freeze`: the modules,
  classes and functions imported at start live as long as the process; frozen, no collection scans them again;
* thresholds of 100,000 young containers and 100 young collections (instead of 700 and 10): far fewer objects
  of a poll in progress are promoted and rescanned. A middle collection scans every container that survived the
  young ones since the last, and in a poll of a large account those are its two snapshots: at 20 young
  collections a warm 100,000-ad poll (about 40 young collections) ran one inside its evaluate step, 0.21-0.23 s
  scanning some 2,000,000 live objects; at 100 it runs one every two or three such polls (and the snapshots of
  the polls before it are freed by then). The oldest generation keeps its default, so a full collection still
  follows every 100,000,000 or so net allocations and whenever the heap has grown by a quarter: cyclic garbage
  (SQLAlchemy's statements, for one) is still reclaimed, which ``bench/soak.py`` watches, and the daemon's hourly
  maintenance runs a full collection (:func:`collect_all`).

Reference counting, which frees almost everything a poll drops (snapshots hold no cycles), is not affected.

**The C allocator** (glibc): :func:`tune_malloc` fixes its mmap threshold at :data:`MMAP_THRESHOLD`. By default
glibc raises that threshold to the size of each large block freed (up to 32 MB), so after the first report's CSV
text or a 100,000-entry dict is freed the next large blocks come from the heap, and the heap's free memory stays
in the process while the poll goes on building: a fixed threshold puts every block above it in a mapping of its
own, returned when freed (and the heap's top is trimmed past 128 kB, glibc's default). A warm 100,000-ad `once`
peaked at 520-538 MB RSS with glibc's default and at 460-466 MB with it (three runs each, the same poll); it
costs some 0.15 s of system time (more mappings and page faults) in that poll. Like ``MALLOC_MMAP_THRESHOLD_``
in the environment, which it overrides; nothing on a C library without ``mallopt``. After each large poll ``run``
gives the heap's free memory back (:func:`trim_malloc`, glibc's ``malloc_trim``): the poll's freed blocks under
the threshold otherwise stay resident until reused.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Containers allocated (net) between two young collections (CPython's default: 700), and young collections
#: between two of the middle generation (default: 10).
YOUNG_THRESHOLD = 100_000
MIDDLE_THRESHOLD = 100


#: Bytes from which the C allocator maps each block apart (:func:`tune_malloc`).
MMAP_THRESHOLD = 4 * 1024 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc's malloc.h)


def tune_malloc() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` (see the module docstring); False where the C library
    has no ``mallopt`` or refuses it (musl's does nothing, macOS has none)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


#: Entities from which the end of a poll gives the C allocator's free memory back (:func:`trim_malloc`).
TRIM_AFTER_ENTITIES = 10_000


def trim_malloc() -> bool:
    """Give the C allocator's free memory back to the system: glibc's ``malloc_trim(0)``, which also returns the
    free pages inside its heaps, not only past their top. ``run`` calls it after each poll of at least
    :data:`TRIM_AFTER_ENTITIES` entities (``Runtime.after_large_poll``): such a poll frees tens of MB of blocks
    below the mmap threshold (lists and dicts of 100,000 entries, answers' texts, in the loop's heap and the
    worker threads' arenas) that stay resident, scattered among blocks still alive, until later blocks of the
    same sizes reuse them; Python's own allocator takes new memory by mmap, never from those holes. Measured with
    ``bench/run_cycle.py`` (100,000 ads at 60 s, one run each, other work on the machine): RSS 5 s after the
    large poll 208-264 MB with it against 218-293 without (10-40 MB less, cycles 2-6); the peak, set inside the
    poll, is the same (361 and 354 MB). A call took 0.3-2 ms after a 100,000-ad poll. False where the C library
    has no ``malloc_trim`` (musl, macOS)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = (ctypes.c_size_t,), ctypes.c_int
    trim(0)
    return True


@contextmanager
def start_up() -> Iterator[None]:
    """A command's start-up (:func:`monitor.cli.main`): no cyclic collection while its modules are imported,
    until :func:`tune_collector` turns the collector on. Importing ``once``'s modules builds about 160,000
    tracked objects that live as long as the process; with the collector on, that cost about 200 young, 20
    middle and a full collection (60-80 ms of a small ``once``'s ~0.9 s of CPU). A command that does not call
    :func:`tune_collector` runs with the collector off (``check``, ``test-rules``, ``auth``: short) or turns it
    on itself (:func:`start_up_over`, the sandbox, which tunes it once its world is built); it is on again when
    the block ends."""
    with collector_held_off():
        yield


def start_up_over() -> None:
    """The collector on again, with CPython's thresholds, for a long-running command that does not tune it."""
    gc.enable()


def tune_collector(*, collect: bool = False) -> None:
    """Raise the young generation's threshold and freeze what start-up built, once per process (a second call,
    e.g. a test running several commands in one process, changes nothing); fix the C allocator's mmap threshold
    (:func:`tune_malloc`); turn the collector on (see :func:`start_up`). ``collect``: collect start-up's garbage
    first, so it is not frozen with it: a full collection of the ~160,000 objects start-up built (60 ms here), for
    the daemon; a short command leaves that garbage (about 2,000 objects, 0.5 MB) frozen instead."""
    if not (gc.get_freeze_count() and gc.get_threshold()[:2] == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD)):
        tune_malloc()
        if collect:
            gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, gc.get_threshold()[2])
    gc.enable()


def collect_all() -> int:
    """A full collection, for the daemon's hourly maintenance: with the thresholds above a full collection can
    be hours apart in a quiet daemon, and some garbage holds more than memory (a SQLite connection SQLAlchemy
    terminated under cancellation keeps its file handle until its cursor, in a reference cycle, is collected:
    monitor.store.rollback_first). Blocks the event loop for a fraction of a second once an hour; returns the
    number of objects collected."""
    return gc.collect()


@contextmanager
def collector_held_off() -> Iterator[None]:
    """No cyclic collection while the block runs; one that fell due runs after it, at the next allocation. For
    maintenance's write transactions (monitor.store.holding): a collection that starts inside one holds SQLite's
    write lock with it, and with the thresholds above a young collection of a large process took 116-133 ms
    (``gc.callbacks`` in ``bench/storage.py`` at 10,000 ads) against maintenance's 40 ms per transaction. Nested
    blocks leave the collector as the outermost found it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
