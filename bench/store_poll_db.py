"""The database work of a warm poll of one large advertiser on SQLite, each part timed on the same data: ``begin``
(the lease, the poll's record, the previous snapshot's load), the comparison (not database work, for scale) and
``commit`` (the entities' rows, the history's rows, the poll's record); with ``--statements``, each SQL
statement's CPU in the connection's thread; with ``--upserts``, every other commit upserts every entities row
(``metrics_updates=False``: monitor.store.poll_write), for a comparison under the same load.

Polls the sandbox once into a SQLite database (the previous snapshot), fetches again ``--wait`` seconds later (the
longer the wait, the more entities changed), and then, ``--runs`` times, copies that database and runs a poll of
the second fetch on the copy with :func:`monitor.store.poll.begin` and :func:`~monitor.store.poll.commit`, as
:meth:`monitor.store.Store.poll` does (the collector tuned as the commands tune it). CPU seconds are this
process's (every thread), medians over the runs. Start the sandbox first, e.g.

    .venv/bin/python -m monitor sandbox --port 48200 --qps 1000 --large-ads 100000 &
    .venv/bin/python bench/store_poll_db.py --base-url http://127.0.0.1:48200 [--runs 5] [--wait 60] [--statements]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import pickle
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any

import aiohttp
from store_stages import _lap  # bench/: run as a script, this folder is on sys.path

from monitor.clock import SystemClock
from monitor.domain import EntityState
from monitor.fetch import fetch_snapshot
from monitor.fetch_plan import ruleset_plan
from monitor.gctune import tune_collector
from monitor.rules.loader import load_rules
from monitor.sandbox import LARGE_ADVERTISER_ID
from monitor.store import Store, sqlite_trips
from monitor.store import poll as polling
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.transport import Transport

RULES = Path(__file__).parent / "rules"
STAGES = ("begin", "compare", "commit")
#: CPU seconds and calls of each statement in the connection's thread (with --statements).
STATEMENTS: collections.Counter[str] = collections.Counter()
CALLS: collections.Counter[str] = collections.Counter()


def _timed(name: str, fn: Any) -> Any:
    """``fn`` (a function sqlite_trips runs in the connection's thread) adding its thread CPU to the statement's."""

    def run(first: Any, *args: Any) -> Any:
        sql = args[0] if name != "_read_on" else "(read on: a long result's further rows)"
        start = time.thread_time()
        try:
            out = fn(first, *args)
        finally:
            key = " ".join(str(sql).split())[:150]
            STATEMENTS[key] += time.thread_time() - start
            CALLS[key] += 1
        return out

    return run


async def main(
    base_url: str | None, runs: int, wait: float, statements: bool, keep: Path | None, upserts: bool
) -> None:
    plan = ruleset_plan(load_rules(RULES, channels=["console"]))
    tune_collector()  # as every command does (monitor.gctune)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.db"
        if base_url is None:  # the database and the second fetch --keep saved
            assert keep is not None
            advertiser_id, now, states = _kept(keep, base)
        else:
            advertiser_id, now, states = await _polled(base_url, base, plan, wait)
            if keep is not None:
                _keep(keep, base, advertiser_id, now, states)
        if statements:
            sqlite_trips._execute = _timed("_execute", sqlite_trips._execute)  # type: ignore[assignment]
            sqlite_trips._execute_many = _timed("_execute_many", sqlite_trips._execute_many)  # type: ignore[assignment]
            sqlite_trips._read_on = _timed("_read_on", sqlite_trips._read_on)  # type: ignore[assignment]
        seconds: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "commit (upserts)")}
        written = 0
        for run in range(runs):
            copy = Path(tmp) / f"run{run}.db"
            shutil.copy(base, copy)
            store = await Store.open(f"sqlite:///{copy}")
            gc.collect()
            cpu = time.process_time()
            writer = await polling.begin(store.engine, advertiser_id, now, "bench", timedelta(minutes=30), stored=True)
            cpu = _lap(seconds, "begin", cpu)
            writer.save(states, levels=plan.levels)
            await writer.compare()
            written = len(writer.changes()[0])
            cpu = _lap(seconds, "compare", cpu)
            updates = not (upserts and run % 2)  # --upserts: every other run upserts every row
            await polling.commit(store.engine, writer, now, metrics_updates=updates)
            _lap(seconds, "commit" if updates else "commit (upserts)", cpu)
            del writer
            await store.close()
            if keep is not None and run == runs - 1:
                shutil.copy(copy, keep / "after.db")  # the rows a poll wrote, to compare between versions
            copy.unlink()
    print(f"{len(states):,} entities, {written:,} entity rows written")
    for stage in (stage for stage, laps in seconds.items() if laps):
        each = ", ".join(f"{s:.3f}" for s in seconds[stage])
        print(f"{stage:10} {statistics.median(seconds[stage]):6.3f} s CPU  ({each})")
    if statements:
        print("statements in the connection's thread, CPU s per run (calls per run):")
        for sql, total in STATEMENTS.most_common(25):
            print(f"{total / runs:7.3f} ({CALLS[sql] // runs:5}) {sql}")


def _keep(keep: Path, base: Path, advertiser_id: str, now: datetime, states: list[EntityState]) -> None:
    """Save the database and the states fetched (their fields and plain metrics) in ``keep``."""
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(base, keep / "base.db")
    fields = [(*_fields(s), {w: dict(v) for w, v in s.metrics.items()}, s.smart_plus) for s in states]
    (keep / "states.pickle").write_bytes(pickle.dumps((advertiser_id, now, fields)))


def _kept(keep: Path, base: Path) -> tuple[str, datetime, list[EntityState]]:
    """What :func:`_keep` saved: the database copied to ``base``, the states built again."""
    shutil.copy(keep / "base.db", base)
    advertiser_id, now, fields = pickle.loads((keep / "states.pickle").read_bytes())  # noqa: S301 (our own file)
    return advertiser_id, now, [EntityState(*f) for f in fields]


_fields = attrgetter(*(name for name in EntityState.__slots__ if name not in ("metrics", "smart_plus", "changed_by")))


async def _polled(base_url: str, base: Path, plan: Any, wait: float) -> tuple[str, datetime, list[EntityState]]:
    """Poll the sandbox's large advertiser once into ``base``, fetch again ``wait`` seconds later: its id, the
    second fetch's time and states."""
    clock = SystemClock()
    store = await Store.open(f"sqlite:///{base}")
    async with aiohttp.ClientSession() as session:
        transport = Transport(session, base_url=base_url, access_token="sandbox-token", limiter=RateLimiter(1000))
        client = TikTokClient(transport)
        info = (await client.advertiser_info([LARGE_ADVERTISER_ID]))[0]
        first = await fetch_snapshot(client, info, plan, clock.now())
        async with store.poll(info.id, clock.now()) as poll:
            poll.save(first.states, levels=plan.levels)
        del first, poll
        await store.close()
        await asyncio.sleep(wait)
        now = clock.now()
        return info.id, now, list((await fetch_snapshot(client, info, plan, now)).states)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="the sandbox's (else --keep's saved database and fetch)")
    parser.add_argument("--keep", type=Path, help="save the database and the second fetch here (read them back)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--wait", type=float, default=60.0)
    parser.add_argument("--statements", action="store_true", help="time each statement in the connection's thread")
    parser.add_argument("--upserts", action="store_true", help="every other run's commit upserts every entity row")
    args = parser.parse_args()
    asyncio.run(main(args.base_url, args.runs, args.wait, args.statements, args.keep, args.upserts))
