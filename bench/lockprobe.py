"""How long another writer waits for a SQLite database's write lock, measured from outside, as a poll would.

A child process opens the file with the sqlite3 module and, until told to stop, takes the write lock
(``BEGIN IMMEDIATE``) and gives it back (``COMMIT``) every few milliseconds. It does not use SQLite's busy
handler, whose back-off sleeps (up to 100 ms each) would blur the measure: a refused ``BEGIN IMMEDIATE`` is retried
after 1 ms. Each wait is the time from the first try to the lock. A transaction's own timer inside the process
that holds the lock counts what is not lock time (a passive WAL checkpoint after the commit, other tasks on its
event loop); this one sees the lock from outside. A poll waits somewhat longer than the probe: SQLite's busy
handler retries after growing sleeps (up to 100 ms), not every millisecond (a review measured p99 57 ms for a
busy-handler writer where the probe saw 45 ms). On a loaded machine the probe's own wait for a core counts too.

    probe = LockProbe(path); probe.start(); ...maintenance...; waits = probe.stop()
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAUSE = 0.005  # between two takes of the lock: leave the writer being measured its turns
RETRY = 0.001


@dataclass(frozen=True)
class Waits:
    """Waits for the write lock, in seconds."""

    waits: tuple[float, ...]

    @property
    def longest(self) -> float:
        return max(self.waits, default=0.0)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.waits)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def line(self) -> str:
        return (
            f"a writer beside it waited at most {self.longest * 1000:.0f} ms for the write lock "
            f"(p99 {self.quantile(0.99) * 1000:.0f} ms, median {self.quantile(0.5) * 1000:.1f} ms, "
            f"{len(self.waits):,} takes)"
        )


class LockProbe:
    """The child process described in the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._child: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self._child = subprocess.Popen(  # noqa: S603 (this script, by its own path)
            [sys.executable, __file__, str(self.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._child.stdout is not None
        self._child.stdout.readline()  # "ready": the file is open

    def stop(self) -> Waits:
        assert self._child is not None
        out, _ = self._child.communicate("")
        self._child = None
        return Waits(tuple(json.loads(out)))


def _probe(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    done = threading.Event()

    def wait_for_stop() -> None:  # the parent closes our stdin to stop us
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    print("ready", flush=True)
    waits: list[float] = []
    while not done.is_set():
        began = time.perf_counter()
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError:  # locked: another writer has it
                time.sleep(RETRY)
        waits.append(time.perf_counter() - began)
        conn.execute("COMMIT")
        time.sleep(PAUSE)
    print(json.dumps(waits), flush=True)


if __name__ == "__main__":
    _probe(sys.argv[1])
