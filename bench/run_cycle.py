"""What one cycle of the daemon costs once it runs: CPU and memory of ``run``'s steady state, polled from outside.

``bench/cycle.py`` measures ``once``: a process of its own per cycle, so each warm cycle there also pays Python's
start-up, the imports (about 0.6 s of CPU), the configuration and opening the database. A daemon pays those once.
This bench starts the same sandbox and configuration as ``bench/cycle.py`` (one advertiser with ``--ads`` ads and
20 small ones, spending alike at every hour: ``--flat-delivery``, see there; the 20 rules of ``bench/rules/`` or
``--rules DIR``, a fresh SQLite file, ``--qps``) and runs ``python -m monitor --log-level debug run`` at
``--interval``. Each time the large advertiser's poll ends (its
``stage seconds`` debug line) it reads the daemon's CPU (user + system, ``/proc/PID/stat``) and RSS
(``/proc/PID/status``; the ``later`` column reads the RSS again 5 s after, between polls, once ``run`` has
given the C allocator's free memory back): the CPU between two such moments is one cycle of every advertiser
(each is polled once per interval), everything the daemon did meanwhile included (outbox, maintenance, health);
the ``polls`` column counts the polls of every advertiser that ended in it (21 when each was polled once: a
cycle longer than the interval holds more). The first cycle is cold (and holds the start-up); the table shows
each later one and their median.

    .venv/bin/python bench/run_cycle.py [--ads 100000] [--interval 60s] [--cycles 5] [--qps 10] [--keep DIR]
                                        [--rules DIR]

``--keep DIR`` writes the daemon's debug log (``run.log``) and the sandbox's arrivals (``arrivals.json``: each
request's time, endpoint and answer code) there, to see what came before a 40100.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bytecode import installed_env  # bench/: run as a script, this folder is on sys.path
from cycle import EXTRA, RULES, STAGE_LINE, config, free_port, http, rows_written, wait_started

from monitor.sandbox import LARGE_ADVERTISER_ID

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Moment:
    """The daemon as the large advertiser's poll ended."""

    at: float  # monotonic seconds
    cpu: float  # user + system seconds so far
    rss_mb: float
    peak_mb: float  # VmHWM: the highest RSS so far
    stages: str
    rows: int  # the entity rows the poll wrote (those that appeared, changed or disappeared)
    polls: int  # polls of every advertiser that ended so far
    rss_later_mb: float | None = None  # RSS LATER seconds after (between polls: what the poll left resident)


#: Seconds after the end of the large advertiser's poll at which the RSS is read again (the daemon between polls:
#: ``run`` gives the C allocator's free memory back after a large poll, once the poll has returned).
LATER = 5.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15 of the line)


def memory_mb(pid: int) -> tuple[float, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


def watch(daemon: subprocess.Popen[str], directory: Path, moments: list[Moment], log: list[str]) -> None:
    """Read the daemon's log; at each end of the large advertiser's poll note where it stands."""
    assert daemon.stderr is not None
    polls = 0
    for line in daemon.stderr:
        log.append(line)
        match = STAGE_LINE.search(line.rstrip())
        polls += match is not None
        if match and match.group(1) == LARGE_ADVERTISER_ID:
            try:
                at, cpu, (rss, peak) = time.monotonic(), cpu_seconds(daemon.pid), memory_mb(daemon.pid)
            except FileNotFoundError:  # the daemon has just exited
                return
            moment = Moment(at, cpu, rss, peak, match.group(2), rows_written(directory), polls)
            moments.append(moment)
            threading.Timer(LATER, read_later, args=(daemon.pid, moment)).start()


def read_later(pid: int, moment: Moment) -> None:
    """The daemon's RSS :data:`LATER` seconds after ``moment`` (left None if it has exited)."""
    with contextlib.suppress(FileNotFoundError):
        moment.rss_later_mb = memory_mb(pid)[0]


def measure(
    ads: int, interval: str, cycles: int, qps: int, keep: Path | None = None, rules: Path = RULES
) -> tuple[list[Moment], int]:
    """The moments of ``cycles`` + 1 polls of the large advertiser, and the 40100 answers the sandbox gave
    (``keep``: a directory for the daemon's log and the sandbox's arrivals; ``rules``: the rules directory)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "monitor", "sandbox", "--port", str(port), "--qps", str(qps)]
    command += ["--large-ads", str(ads), "--extra-advertisers", str(EXTRA), "--flat-delivery"]  # (see the docstring)
    sandbox = subprocess.Popen(command, stderr=subprocess.DEVNULL)  # noqa: S603
    moments: list[Moment] = []
    log: list[str] = []
    try:
        wait_started(url, sandbox)
        with tempfile.TemporaryDirectory() as tmp:
            cfg = config(Path(tmp), url, qps, rules)
            cfg.write_text(cfg.read_text().replace('interval = "5m"', f'interval = "{interval}"'))
            run = [sys.executable, "-m", "monitor", "--log-level", "debug", "run", "--config", str(cfg)]
            quiet, env = subprocess.DEVNULL, installed_env()
            daemon = subprocess.Popen(run, stderr=subprocess.PIPE, stdout=quiet, text=True, env=env)  # noqa: S603
            reader = threading.Thread(target=watch, args=(daemon, Path(tmp), moments, log), daemon=True)
            reader.start()
            try:
                while len(moments) < cycles + 1:
                    if daemon.poll() is not None:
                        raise SystemExit(f"run exited with {daemon.returncode}:\n{''.join(log[-40:])}")
                    time.sleep(0.5)
            finally:
                daemon.terminate()
                try:
                    daemon.wait(60)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
                reader.join(5)  # the log's last lines read
                if keep is not None:  # kept for a run that failed or was interrupted too
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / "run.log").write_text("".join(log))
                    (keep / "arrivals.json").write_text(json.dumps(http(f"{url}/sandbox/arrivals")))
        arrivals = http(f"{url}/sandbox/arrivals")
        assert isinstance(arrivals, list)
        throttled = sum(1 for a in arrivals if a["code"] == 40100)
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    return moments, throttled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--interval", default="60s")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--qps", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="a directory for the daemon's log and the sandbox's arrivals")
    parser.add_argument("--rules", type=Path, default=RULES, help="the rules directory (default: bench/rules)")
    args = parser.parse_args()
    moments, throttled = measure(args.ads, args.interval, args.cycles, args.qps, args.keep, args.rules)
    print(f"run against the sandbox at {args.qps} QPS, every {args.interval}: 1 advertiser of {args.ads:,} ads + "
          f"{EXTRA} small ones, the rules of {args.rules}")  # fmt: skip
    print(
        f"{'cycle':>5} {'CPU s':>7} {'wall s':>7} {'RSS MB':>7} {'later':>6} {'peak MB':>8} {'rows':>7} {'polls':>5}"
        "  large advertiser's stages"
    )
    first = moments[0]
    print(
        f"{'1':>5} {first.cpu:>7.2f} {'':>7} {first.rss_mb:>7.0f} {later(first):>6} {first.peak_mb:>8.0f}"
        f" {first.rows:>7} {first.polls:>5}  {first.stages}  (cold, with start-up)"
    )
    warm = []
    for number, (before, after) in enumerate(itertools.pairwise(moments), start=2):
        cpu = after.cpu - before.cpu
        warm.append(cpu)
        print(
            f"{number:>5} {cpu:>7.2f} {after.at - before.at:>7.1f} {after.rss_mb:>7.0f} {later(after):>6}"
            f" {after.peak_mb:>8.0f}"
            f" {after.rows:>7} {after.polls - before.polls:>5}  {after.stages}"
        )
    print(f"warm cycles: median {statistics.median(warm):.2f} s CPU (min {min(warm):.2f}, max {max(warm):.2f}); "
          f"peak RSS {moments[-1].peak_mb:.0f} MB; 40100 answers {throttled}")  # fmt: skip


def later(moment: Moment) -> str:
    return "" if moment.rss_later_mb is None else f"{moment.rss_later_mb:.0f}"


if __name__ == "__main__":
    main()
