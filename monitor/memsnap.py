"""Memory snapshots on request: what grows across polls (issue 22; ``bench/soak.py --tracemalloc``).

When ``run`` starts with tracemalloc tracing (``python -X tracemalloc=1 -m monitor run ...`` or
``PYTHONTRACEMALLOC=1``) it installs a SIGUSR2 handler: each SIGUSR2 writes ``tracemalloc.take_snapshot()`` to a
new file in the directory ``TIKTOK_MONITOR_TRACEMALLOC_DIR`` names (default: the system's temporary directory),
``tiktok-monitor-<pid>-<n>.tracemalloc``, and logs its path. The file is written under another name and renamed,
so a file with that name is complete. Load two with ``tracemalloc.Snapshot.load`` and compare them
(``newer.compare_to(older, "lineno")``). Without tracing nothing is installed (SIGUSR2 keeps its default action),
and nothing costs anything.

So that two snapshots differ by what stays, not by what a poll holds while it runs or by garbage the collector
has not reached yet (``run`` collects rarely: :func:`monitor.daemon.run_daemon`), a snapshot waits until no poll
runs (``busy``, at most :data:`QUIET_WAIT` seconds) and is taken after a full ``gc.collect()``. Taking it holds
the event loop for a moment (about a second per million traced blocks): a diagnostic, not something to send to a
daemon in production every minute.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
import signal
import tempfile
import tracemalloc
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

#: The environment variable naming the directory snapshots are written to.
DIRECTORY_VARIABLE = "TIKTOK_MONITOR_TRACEMALLOC_DIR"
SUFFIX = ".tracemalloc"
#: Seconds a snapshot waits for a moment without a running poll before it is taken anyway.
QUIET_WAIT = 10.0


def snapshot_directory(environ: Mapping[str, str]) -> Path:
    """Where snapshots go: ``TIKTOK_MONITOR_TRACEMALLOC_DIR``, or the system's temporary directory."""
    return Path(environ.get(DIRECTORY_VARIABLE) or tempfile.gettempdir())


class SnapshotWriter:
    """Writes numbered tracemalloc snapshots of this process into ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._numbers = itertools.count(1)

    def write(self) -> Path | None:
        """Take a snapshot and write it; its path, or None (logged) when it could not be written."""
        if not tracemalloc.is_tracing():
            log.warning("no memory snapshot: tracemalloc is not tracing")
            return None
        path = self.directory / f"tiktok-monitor-{os.getpid()}-{next(self._numbers)}{SUFFIX}"
        partial = path.with_name(path.name + ".part")
        gc.collect()
        try:
            tracemalloc.take_snapshot().dump(str(partial))
            os.replace(partial, path)
        except OSError as exc:
            log.error("memory snapshot not written to %s: %s", path, exc)
            return None
        log.warning("memory snapshot written to %s", path)
        return path

    async def write_when_quiet(self, busy: Callable[[], bool], wait: float = QUIET_WAIT) -> Path | None:
        """:meth:`write` at the first moment ``busy()`` is false (checked every 20 ms), or after ``wait`` seconds."""
        for _ in range(round(wait / 0.02)):
            if not busy():
                break
            await asyncio.sleep(0.02)
        return self.write()


def snapshot_on_signal(
    loop: asyncio.AbstractEventLoop, environ: Mapping[str, str], busy: Callable[[], bool] = lambda: False
) -> int | None:
    """Install the SIGUSR2 handler when tracemalloc is tracing; the signal installed (to remove it), or None.
    ``busy``: whether a poll runs now (a snapshot waits for a moment without one)."""
    if not tracemalloc.is_tracing():
        return None
    writer = SnapshotWriter(snapshot_directory(environ))
    pending: set[asyncio.Task[Path | None]] = set()

    def requested() -> None:
        task = loop.create_task(writer.write_when_quiet(busy))
        pending.add(task)
        task.add_done_callback(pending.discard)

    loop.add_signal_handler(signal.SIGUSR2, requested)
    log.info("tracemalloc is tracing: SIGUSR2 writes a memory snapshot into %s", writer.directory)
    return signal.SIGUSR2
