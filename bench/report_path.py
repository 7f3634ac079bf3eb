"""The report path of one large advertiser, in-process: its ad-level async reports' CSV read into columns,
joined into each ad's windows, and the ads' states built (what a poll's fetch does with them), CPU timed.

The data comes from a sandbox started apart (its 100,000-ad advertiser: the four ad-level windows bench/rules
reads, by async report task, and the ad list), read once and then timed ``--runs`` times; ``--save DIR`` keeps it
and ``--load DIR`` times that very data again without a sandbox (so two versions of the code, run one after the
other, time the same data). Each run reads the reports in the plan's order, each joined as
:class:`~monitor.fetch_windows.LevelReports` joins it, then :func:`~monitor.fetch_states.level_states` builds the
states, sharing the strings of the previous run's states as a poll shares its previous snapshot's. The collector
is tuned as the commands tune it (monitor.gctune); each run starts after a full collection. Prints the median
CPU seconds of each stage (parse, join, states) and of the whole. E.g.

    .venv/bin/python -m monitor sandbox --port 48200 --qps 1000 --large-ads 100000 --flat-delivery &
    .venv/bin/python bench/report_path.py --base-url http://127.0.0.1:48200 --save /tmp/reports
    .venv/bin/python bench/report_path.py --load /tmp/reports --runs 9
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
from pathlib import Path
from typing import Any

from monitor.domain import EntityKey, Level
from monitor.fetch_plan import ruleset_plan
from monitor.fetch_states import level_states
from monitor.fetch_windows import LevelReports
from monitor.gctune import tune_collector
from monitor.rules.loader import load_rules
from monitor.tiktok.models import Report
from monitor.tiktok.reports import CsvBody

RULES = Path(__file__).parent / "rules"
_DIMENSIONS = ("ad_id",)


async def capture(base_url: str) -> tuple[dict[str, tuple[tuple[str, ...], str]], list[list[Any]]]:
    """The large advertiser's ad-level reports (window -> (metrics wanted, CSV text)) and ad list rows."""
    import aiohttp

    from monitor.clock import SystemClock
    from monitor.fetch import window_query
    from monitor.sandbox import LARGE_ADVERTISER_ID
    from monitor.tiktok.client import TikTokClient
    from monitor.tiktok.ratelimit import RateLimiter
    from monitor.tiktok.transport import Transport

    plan = ruleset_plan(load_rules(RULES, channels=["console"])).levels[Level.AD]
    reports: dict[str, tuple[tuple[str, ...], str]] = {}
    async with aiohttp.ClientSession() as session:
        limiter = RateLimiter(1000)
        client = TikTokClient(Transport(session, base_url=base_url, access_token="sandbox-token", limiter=limiter))
        info = (await client.advertiser_info([LARGE_ADVERTISER_ID]))[0]
        today = info.local_date(SystemClock().now())
        for window, wanted in plan.windows.items():
            query = window_query(window, Level.AD, wanted, today)
            report = await client.async_report(info.id, query)
            reports[window] = (wanted, report._unread.text)  # type: ignore[attr-defined]  # (the CSV as it came)
        rows = await client.entity_rows(Level.AD, info.id, fields=plan.fields or None)
    return reports, [list(row) for row in rows]


async def one_run(
    reports: dict[str, tuple[tuple[str, ...], str]], rows: list[list[Any]], known: dict[EntityKey, Any] | None
) -> tuple[dict[str, float], list[Any]]:
    """One level's reports read and joined, its states built: CPU seconds of each report (read and joined) and of
    the states, and the states."""
    seconds = {window: 0.0 for window in reports} | {"states": 0.0}
    level = LevelReports(Level.AD)
    for window, (wanted, text) in reports.items():
        report = Report(unread=CsvBody(text, _DIMENSIONS, "bench"))
        cpu = time.process_time()
        await level.join(report, window, wanted)  # (read, in a thread, and joined)
        seconds[window] += time.process_time() - cpu
        del report
    cpu = time.process_time()
    states = await level_states(Level.AD, "bench", [tuple(row) for row in rows], level.windows, known)
    seconds["states"] = time.process_time() - cpu
    return seconds, states


async def main(args: argparse.Namespace) -> None:
    if args.load:
        folder = Path(args.load)
        meta = json.loads((folder / "reports.json").read_text())
        reports = {w: (tuple(wanted), (folder / f"{w}.csv").read_text()) for w, wanted in meta.items()}
        rows = json.loads((folder / "rows.json").read_text())
    else:
        reports, rows = await capture(args.base_url)
    if args.save:
        folder = Path(args.save)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "reports.json").write_text(json.dumps({w: wanted for w, (wanted, _) in reports.items()}))
        for window, (_, text) in reports.items():
            (folder / f"{window}.csv").write_text(text)
        (folder / "rows.json").write_text(json.dumps(rows))
    tune_collector()
    _, states = await one_run(reports, rows, None)  # (warms up; its states are the next runs' previous ones)
    known = {(state.level, state.id): state for state in states}
    runs: list[dict[str, float]] = []
    for _ in range(args.runs):
        gc.collect()
        seconds, built = await one_run(reports, rows, known)
        seconds["total"] = sum(seconds.values())
        runs.append(seconds)
        del built
    medians = {stage: statistics.median(run[stage] for run in runs) for stage in runs[0]}
    print(" ".join(f"{stage} {value * 1000:.0f} ms" for stage, value in medians.items()), f"({args.runs} runs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--base-url", help="a sandbox started apart (its large advertiser)")
    source.add_argument("--load", help="a folder --save wrote")
    parser.add_argument("--save", help="keep the data read in this folder")
    parser.add_argument("--runs", type=int, default=7)
    asyncio.run(main(parser.parse_args()))
