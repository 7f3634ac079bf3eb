"""`run` with tracemalloc tracing writes a memory snapshot on SIGUSR2 (issue 22: what grows across polls)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tracemalloc
from pathlib import Path

from monitor.memsnap import DIRECTORY_VARIABLE, SUFFIX, SnapshotWriter, snapshot_on_signal

ADV = "7000000000000000001"


async def wait_until(predicate, within: float, process: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        assert process.returncode is None, f"the daemon exited with {process.returncode}"
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not within the time allowed")
        await asyncio.sleep(0.1)


async def test_sigusr2_writes_a_loadable_snapshot_when_tracing(tmp_path: Path, live_sandbox) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text('[[rule]]\nname = "spending"\nlevel = "ad"\nwhen = "spend > 0"\n')
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{live_sandbox.base_url}"\naccess_token = "sandbox-token"\n'
        f'advertiser_ids = ["{ADV}"]\n[monitor]\ninterval = "2s"\nrules = "rules"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n[health]\nenabled = false\n'
    )
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    env = {**os.environ, DIRECTORY_VARIABLE: str(snapshots), "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "tracemalloc=1", "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=tmp_path,
    )  # fmt: skip
    try:
        # the handler is installed before the first poll: a request at the sandbox means it is there
        await wait_until(lambda: any(a.path == "ad/get/" for a in live_sandbox.arrivals), 60, process)
        process.send_signal(signal.SIGUSR2)
        await wait_until(lambda: any(snapshots.glob(f"*{SUFFIX}")), 60, process)
        process.send_signal(signal.SIGUSR2)
        await wait_until(lambda: len(list(snapshots.glob(f"*{SUFFIX}"))) == 2, 60, process)
        assert process.returncode is None  # the signal did not end it
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 45)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode()
    first, second = sorted(snapshots.glob(f"*{SUFFIX}"))
    assert first.name == f"tiktok-monitor-{process.pid}-1{SUFFIX}"
    assert second.name == f"tiktok-monitor-{process.pid}-2{SUFFIX}"
    snapshot = tracemalloc.Snapshot.load(str(first))
    files = {trace.traceback[0].filename for trace in snapshot.traces}
    assert any(f"{os.sep}monitor{os.sep}" in name for name in files)  # the daemon's own allocations are in it
    assert not list(snapshots.glob("*.part"))
    assert f"memory snapshot written to {first}" in output.decode()


async def test_nothing_is_installed_without_tracing() -> None:
    assert not tracemalloc.is_tracing()
    assert snapshot_on_signal(asyncio.get_running_loop(), {}) is None


async def test_a_snapshot_waits_for_a_moment_without_a_poll_but_not_forever(tmp_path: Path) -> None:
    checks: list[bool] = []

    def busy() -> bool:  # a poll runs for the first three looks
        checks.append(len(checks) < 3)
        return checks[-1]

    writer = SnapshotWriter(tmp_path)
    tracemalloc.start()
    try:
        first = await writer.write_when_quiet(busy)
        assert checks == [True, True, True, False]
        second = await writer.write_when_quiet(lambda: True, wait=0.1)  # always busy: taken after the wait
    finally:
        tracemalloc.stop()
    assert first is not None and second is not None
    assert (first.name, second.name) == (
        f"tiktok-monitor-{os.getpid()}-1{SUFFIX}",
        f"tiktok-monitor-{os.getpid()}-2{SUFFIX}",
    )
    assert first.parent == second.parent == tmp_path
    assert tracemalloc.Snapshot.load(str(second)).traces
