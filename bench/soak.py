"""The daemon alone for many polls, measured from outside: its RSS slope after warm-up and the database's growth.

Starts the sandbox as a process of its own (``tiktok-monitor sandbox --large-ads N``) and ``tiktok-monitor run``
as another, on a SQLite file in a temporary directory, with the example rules (rules/) and a short interval.
Every ``--sample`` seconds it reads the daemon's RSS (``/proc/PID/status`` VmRSS), the database's size on disk
(with its WAL) and the polls counted on ``/metrics``. When ``--polls`` polls have run it prints the RSS slope after
warm-up (least squares over the samples past ``--warmup`` polls, in MB per hour) and the database's growth per poll
over the same stretch.

With ``--tracemalloc`` the daemon runs with tracemalloc tracing (``-X tracemalloc=FRAMES``, ``--frames``, default 1)
and writes a snapshot on SIGUSR2 (:mod:`monitor.memsnap`): one at poll ``--warmup``, one at the last poll; the bench
prints the 15 largest increases between them by source line (``compare_to(old, "lineno")``). Tracing
slows the daemon and adds its own memory to RSS (the first snapshot alone adds tens of MB, so the slope is measured
from the sample after it): read the slope of such a run with that in mind.

    .venv/bin/python bench/soak.py [--ads 2000] [--interval 1s] [--polls 500] [--warmup 50] [--qps 1000]
        [--tracemalloc [--frames 1]]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import aiohttp

from monitor.memsnap import DIRECTORY_VARIABLE, SUFFIX
from monitor.sandbox import LARGE_ADVERTISER_ID

RULES = Path(__file__).resolve().parent.parent / "rules"
CHANNEL = re.compile(r'"(slack|email|webhook|ops)"')
POLLS = re.compile(r'^tiktok_monitor_polls_total\{result="(\w+)"\} ([0-9.e+]+)$', re.MULTILINE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def database_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``y`` over ``x``."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def write_config(folder: Path, base_url: str, port: int, interval: str, qps: int) -> Path:
    """The examples in rules/, every message to the console channel (stdout, discarded)."""
    rules = folder / "rules"
    rules.mkdir()
    for example in RULES.glob("*.toml"):
        (rules / example.name).write_text(CHANNEL.sub('"console"', example.read_text()))
    config = folder / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\n'
        f'advertiser_ids = ["{LARGE_ADVERTISER_ID}"]\nmax_qps = {qps}\n'
        f'[monitor]\ninterval = "{interval}"\nrules = "{rules}"\n'
        f'[storage]\nurl = "sqlite:///{folder / "monitor.db"}"\nmin_free = "1MB"\n'
        f"[actions]\nenabled = false\n[console]\n"
        f'[health]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
    )
    return config


async def polls_done(http: aiohttp.ClientSession, url: str) -> int:
    with contextlib.suppress(aiohttp.ClientError):
        async with http.get(f"{url}/metrics") as resp:
            return int(sum(float(n) for _, n in POLLS.findall(await resp.text())))
    return 0


def snapshot_files(folder: Path) -> set[Path]:
    return set(folder.glob(f"*{SUFFIX}"))


async def snapshot(daemon: subprocess.Popen[bytes], folder: Path, within: float = 300.0) -> Path:
    """Ask the daemon for a tracemalloc snapshot (SIGUSR2) and wait for its file."""
    before = snapshot_files(folder)
    daemon.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        new = snapshot_files(folder) - before
        if new:
            return new.pop()
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon exited with {daemon.returncode} instead of writing a snapshot")
        await asyncio.sleep(0.2)
    raise SystemExit("no snapshot within five minutes")


def print_growth(old: Path, new: Path, old_poll: int, new_poll: int, top: int = 15) -> None:
    """The ``top`` largest increases between two snapshots, by source line (what shrank is no leak)."""
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    older = tracemalloc.Snapshot.load(str(old)).filter_traces(ignore)
    newer = tracemalloc.Snapshot.load(str(new)).filter_traces(ignore)
    total = sum(s.size for s in newer.statistics("filename")) - sum(s.size for s in older.statistics("filename"))
    print(f"tracemalloc: traced memory {total / 1e6:+.2f} MB from poll {old_poll} to poll {new_poll}; "
          f"the {top} lines whose memory grew most:")  # fmt: skip
    for stat in [s for s in newer.compare_to(older, "lineno") if s.size_diff > 0][:top]:
        frame = stat.traceback[0]
        print(f"  {stat.size_diff / 1e3:+10.1f} kB {stat.count_diff:+8d} blocks  "
              f"({stat.size / 1e3:9.1f} kB now)  {frame.filename}:{frame.lineno}")  # fmt: skip


async def main(
    ads: int, interval: str, polls: int, warmup: int, qps: int, sample: float, frames: int | None = None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sandbox_port, health_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        sandbox = subprocess.Popen(  # noqa: ASYNC220, S603
            [sys.executable, "-m", "monitor", "sandbox", "--port", str(sandbox_port), "--qps", str(qps),
             "--large-ads", str(ads)],
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        daemon: subprocess.Popen[bytes] | None = None
        samples: list[tuple[float, int, int, int]] = []  # seconds, polls, rss, database bytes
        traced_from = 0.0
        try:
            async with aiohttp.ClientSession() as http:
                while sandbox.poll() is None:
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"{sandbox_url}/sandbox/arrivals") as resp:
                            if resp.status == 200:
                                break
                    await asyncio.sleep(0.2)
                config = write_config(folder, sandbox_url, health_port, interval, qps)
                log = folder / "daemon.log"
                tracing = [] if frames is None else ["-X", f"tracemalloc={frames}"]
                daemon = subprocess.Popen(  # noqa: ASYNC220, S603
                    [sys.executable, *tracing, "-m", "monitor", "--log-level", "warning", "run", "--config",
                     str(config)],
                    stdout=subprocess.DEVNULL, stderr=log.open("wb"), env={**os.environ, DIRECTORY_VARIABLE: tmp},
                )  # fmt: skip
                snapshots: list[tuple[int, Path]] = []  # poll, file
                t0 = time.monotonic()
                done = 0
                while done < polls:
                    await asyncio.sleep(sample)
                    if daemon.poll() is not None:
                        raise SystemExit(f"the daemon exited with {daemon.returncode}:\n{log.read_text()[-3000:]}")
                    done = await polls_done(http, f"http://127.0.0.1:{health_port}")
                    db = database_bytes(folder / "monitor.db")
                    samples.append((time.monotonic() - t0, done, rss_bytes(daemon.pid), db))
                    if len(samples) % 10 == 0:
                        print(f"  {samples[-1][0]:6.0f}s  poll {done:4d}  RSS {samples[-1][2] / 1e6:6.1f} MB"
                              f"  database {db / 1e6:7.1f} MB", flush=True)  # fmt: skip
                    if frames is not None and not snapshots and warmup <= done < polls:
                        snapshots.append((done, await snapshot(daemon, folder)))
                        traced_from = time.monotonic() - t0  # the snapshot's own memory is not a slope
                if snapshots:  # and one at the end
                    snapshots.append((done, await snapshot(daemon, folder)))
                    print_growth(snapshots[0][1], snapshots[1][1], snapshots[0][0], snapshots[1][0])
        finally:
            for process in (daemon, sandbox):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(30)
    after = [s for s in samples if s[1] >= warmup and s[0] > traced_from]
    if len(after) < 3:
        raise SystemExit("too few samples after warm-up")
    mb_per_hour = slope([(s[0], s[2]) for s in after]) * 3600 / 1e6
    per_poll = (after[-1][3] - after[0][3]) / max(1, after[-1][1] - after[0][1])
    seconds = samples[-1][0]
    print(f"{ads:,} ads, interval {interval}: {samples[-1][1]} polls in {seconds:.0f}s")
    print(f"RSS after poll {warmup}: {after[0][2] / 1e6:.1f} -> {after[-1][2] / 1e6:.1f} MB; "
          f"slope {mb_per_hour:+.1f} MB per hour (least squares over {len(after)} samples)")  # fmt: skip
    print(f"database: {after[-1][3] / 1e6:.1f} MB; growth {per_poll / 1e3:.1f} kB per poll after warm-up")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ads", type=int, default=2000)
    parser.add_argument("--interval", default="1s", help="the daemon's [monitor] interval")
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50, help="polls before the slope is measured")
    parser.add_argument("--qps", type=int, default=1000, help="the sandbox's limit (and the client's)")
    parser.add_argument("--sample", type=float, default=3.0, help="seconds between samples")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="trace allocations; compare snapshots at --warmup and the end"
    )
    parser.add_argument("--frames", type=int, default=1, help="frames tracemalloc keeps per allocation (default 1)")
    args = parser.parse_args()
    frames = args.frames if args.tracemalloc else None
    asyncio.run(main(args.ads, args.interval, args.polls, args.warmup, args.qps, args.sample, frames))
