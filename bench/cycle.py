"""One full cycle of ``once``, cold and warm, against the sandbox: wall, CPU, peak RSS, calls, bytes, stages.

For each size in ``--ads`` (default 1,000, 10,000 and 100,000), starts the sandbox as a process of its own
(``tiktok-monitor sandbox --large-ads N --extra-advertisers 20 --qps Q --flat-delivery``: one advertiser with N
ads over campaigns and ad groups, and 20 small ones with one campaign, ad group and ad each; every ad spending at
its average rate all day, so that how many entities change between two polls does not depend on the hour the
bench runs: with the sandbox's usual curve, peaking at 20:00 in each account's zone, it changes by up to four
times over a day, and benchmarks run hours apart did not measure the same work), writes a config that
watches those 21 advertisers with the 20 rules of ``bench/rules/`` (three levels; today, yesterday, last_7d and
lifetime; some with ``for``/``cooldown`` and pacing) into a fresh SQLite database, and runs
``python -m monitor --log-level debug once`` twice as a child process: cold (empty database) and warm (the
second poll; the sandbox's world moves on in between, as time passes).

Each ``once`` is measured as a process of its own, with the monitor package's bytecode written as an installed
one has it (``bench/bytecode.py``): wall seconds, CPU seconds (user + system) and peak RSS from
``os.wait4`` of that child (the sandbox's CPU is not in it); API calls by endpoint and 40100 answers from the
sandbox's request log; database bytes per entity (the SQLite file and its WAL after the cold run, divided by
the entities polled; for the warm run, the growth); the entity rows the large advertiser's poll wrote (those that
appeared, changed or disappeared: the sandbox's ads all spend, so a warm poll's share depends on the time since
the cold one); and the split by stage, from the debug line each poll
logs (``advertiser ...: stage seconds start=... fetch=...``), for the large advertiser (the 21 polls run
concurrently and share the rate limit, so the small ones' fetch time is mostly waiting for their turn).
``start`` is taking the lease and loading the previous snapshot, ``commit`` writing everything of the poll in
one transaction.

    .venv/bin/python bench/cycle.py [--ads 1000 10000] [--repeats 3] [--qps 10]

With ``--repeats`` > 1 each size runs that many times (a fresh sandbox and database each) and every number is
the median.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bytecode import installed_env  # bench/: run as a script, this folder is on sys.path

from monitor.sandbox import LARGE_ADVERTISER_ID
from monitor.sandbox.arrivals import max_in_window
from monitor.sandbox.settings import extra_advertiser_id

EXTRA = 20
RULES = Path(__file__).parent / "rules"
STAGES = ("start", "fetch", "store", "diff", "evaluate", "lifecycle", "act", "notify", "commit")
STAGE_LINE = re.compile(r"advertiser (\d+): stage seconds (.*)$")
TOTALS = re.compile(r"(\d+) advertiser\(s\), (\d+) failed; (\d+) entities; (\d+) API calls")


@dataclass
class Run:
    """One ``once`` process."""

    wall: float
    cpu: float
    rss_mb: float
    entities: int
    failed: int
    calls: Counter[str]
    throttled: int
    busiest: int
    db_bytes: int
    rows_written: int  # entity rows the large advertiser's poll wrote: those that appeared, changed or disappeared
    stages: dict[str, float] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(url: str, method: str = "GET") -> object:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback sandbox
        return json.loads(response.read())


def wait_started(url: str, process: subprocess.Popen[bytes]) -> None:
    while process.poll() is None:
        with contextlib.suppress(urllib.error.URLError, ConnectionError):
            http(f"{url}/sandbox/arrivals")
            return
        time.sleep(0.2)
    raise SystemExit("the sandbox did not start")


def config(directory: Path, url: str, qps: int, rules: Path = RULES) -> Path:
    ids = [LARGE_ADVERTISER_ID, *(extra_advertiser_id(i) for i in range(EXTRA))]
    path = directory / "config.toml"
    path.write_text(
        f"""
[tiktok]
base_url = "{url}"
access_token = "sandbox-token"
advertiser_ids = [{", ".join(f'"{a}"' for a in ids)}]
max_qps = {qps}
[monitor]
interval = "5m"
poll_timeout = "30m"
rules = "{rules}"
[storage]
url = "sqlite:///{directory / "monitor.db"}"
[console]
[health]
enabled = false
"""
    )
    return path


def db_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("monitor.db*"))


def rows_written(directory: Path) -> int:
    """The entity rows the large advertiser's newest poll wrote (``polls.rows_written``): a warm poll's cost
    grows with them, and the sandbox's ads all spend, so how many changed depends on the time between polls."""
    with contextlib.closing(sqlite3.connect(directory / "monitor.db")) as db:
        found = db.execute(
            "SELECT rows_written FROM polls WHERE advertiser_id = ? ORDER BY id DESC LIMIT 1", (LARGE_ADVERTISER_ID,)
        ).fetchone()
    return int(found[0] or 0) if found else 0


def once(cfg: Path, url: str, directory: Path) -> Run:
    http(f"{url}/sandbox/reset", "POST")
    env = installed_env()
    command = [sys.executable, "-m", "monitor", "--log-level", "debug", "once", "--config", str(cfg)]
    out_path, err_path = directory / "once.out", directory / "once.err"
    started = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)  # noqa: S603
        _, status, usage = os.wait4(process.pid, 0)  # this child's own CPU and peak RSS
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    totals = TOTALS.search(stdout)
    if totals is None:
        raise SystemExit(f"once printed no summary (status {status}):\n{stdout}\n{stderr[-3000:]}")
    stages: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    for line in stderr.splitlines():
        match = STAGE_LINE.search(line)
        if match and match.group(1) == LARGE_ADVERTISER_ID:
            for part in match.group(2).split():
                stage, seconds = part.split("=")
                stages[stage] += float(seconds)
    arrivals = http(f"{url}/sandbox/arrivals")
    assert isinstance(arrivals, list)
    times = [a["t"] for a in arrivals]
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=usage.ru_maxrss / 1024,
        entities=int(totals.group(3)),
        failed=int(totals.group(2)),
        calls=Counter(a["path"].removeprefix("/open_api/v1.3/") for a in arrivals),
        throttled=sum(1 for a in arrivals if a["code"] == 40100),
        busiest=max_in_window(times, 1.0) if times else 0,
        db_bytes=db_bytes(directory),
        rows_written=rows_written(directory),
        stages=stages,
    )


def cycle(ads: int, qps: int) -> tuple[Run, Run, float]:
    """A fresh sandbox and database: the cold and the warm ``once``, and the sandbox's start-up seconds."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "monitor", "sandbox", "--port", str(port), "--qps", str(qps)]
    command += ["--large-ads", str(ads), "--extra-advertisers", str(EXTRA), "--flat-delivery"]  # (see the docstring)
    t0 = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        wait_started(url, process)
        startup = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            cfg = config(directory, url, qps)
            cold = once(cfg, url, directory)
            warm = once(cfg, url, directory)
    finally:
        process.terminate()
        process.wait(10)
    return cold, warm, startup


def median(runs: list[Run], pick: str) -> float:
    return statistics.median(float(getattr(r, pick)) for r in runs)


def table(results: dict[int, tuple[list[Run], list[Run]]]) -> str:
    sizes = list(results)
    head = f"{'':34}" + "".join(f"{f'{n:,} ads cold':>17}{'warm':>12}" for n in sizes)
    lines = [head]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"{label:34}" + "".join(f"{v:>17}" if i % 2 == 0 else f"{v:>12}" for i, v in enumerate(values)))

    def each(fmt: str, fn) -> list[str]:  # type: ignore[no-untyped-def]
        return [fmt.format(fn(runs)) for n in sizes for runs in results[n]]

    row("entities polled", each("{:,.0f}", lambda r: median(r, "entities")))
    row("failed polls", each("{:.0f}", lambda r: median(r, "failed")))
    row("large advertiser's rows written", each("{:,.0f}", lambda r: median(r, "rows_written")))
    row("wall s", each("{:.1f}", lambda r: median(r, "wall")))
    row("CPU s (user+system, once only)", each("{:.2f}", lambda r: median(r, "cpu")))
    row("peak RSS MB", each("{:.0f}", lambda r: median(r, "rss_mb")))
    row("API calls", each("{:.0f}", lambda r: statistics.median(sum(x.calls.values()) for x in r)))
    endpoints = sorted({p for n in sizes for runs in results[n] for r in runs for p in r.calls})
    for path in endpoints:
        row(f"  {path}", each("{:.0f}", lambda r, p=path: statistics.median(x.calls[p] for x in r)))
    row("40100 answers", each("{:.0f}", lambda r: median(r, "throttled")))
    row("busiest second at the sandbox", each("{:.0f}", lambda r: median(r, "busiest")))
    row("database bytes (after)", each("{:,.0f}", lambda r: median(r, "db_bytes")))
    bytes_per = []
    for n in sizes:
        cold, warm = results[n]
        bytes_per.append(f"{statistics.median(r.db_bytes / max(r.entities, 1) for r in cold):,.0f}")
        growth = [(w.db_bytes - c.db_bytes) / max(w.entities, 1) for c, w in zip(cold, warm, strict=True)]
        bytes_per.append(f"{statistics.median(growth):,.0f}")
    row("database bytes per entity (growth)", bytes_per)
    lines.append("stage seconds of the large advertiser's poll:")
    for stage in STAGES:
        row(f"  {stage}", each("{:.2f}", lambda r, s=stage: statistics.median(x.stages[s] for x in r)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ads", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--qps", type=int, default=10)
    args = parser.parse_args()
    results: dict[int, tuple[list[Run], list[Run]]] = {}
    for ads in args.ads:
        colds, warms = [], []
        for i in range(args.repeats):
            cold, warm, startup = cycle(ads, args.qps)
            print(
                f"{ads:,} ads, run {i + 1}: sandbox up in {startup:.1f}s; cold {cold.wall:.1f}s wall "
                f"{cold.cpu:.2f}s CPU, warm {warm.wall:.1f}s wall {warm.cpu:.2f}s CPU",
                file=sys.stderr,
                flush=True,
            )
            colds.append(cold)
            warms.append(warm)
        results[ads] = (colds, warms)
    print(f"once against the sandbox at {args.qps} QPS, 1 large + {EXTRA} small advertisers, 20 rules; "
          f"medians of {args.repeats}")  # fmt: skip
    print(table(results))


if __name__ == "__main__":
    main()
