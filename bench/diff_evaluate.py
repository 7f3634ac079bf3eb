"""A warm poll's diff and evaluate stages over a large account, in-process: what the pipeline does between the
store's comparison and the lifecycle, CPU seconds (medians).

Builds a snapshot of N ads (default 100,000; with N/100 ad groups and 20 campaigns) as a poll's fetch makes it
(read-only windows, equal ones shared: today's nearly all distinct, yesterday's and lifetime's a few hundred, the
last 7 days' about a third) and its previous snapshot as the store hands it over after its comparison: an
unchanged entity's previous state is the new state itself (monitor.store.lean), a changed one's (``--changed``,
default 15 %, today's spend moved, 1 % of them a status too) a state of its own. Then times, with the 20 rules of
``bench/rules/``:

* diff: ``diff_snapshots(previous, current, metrics=False)`` (and the moved keys worked out for it, where the code
  has ``monitor.domain.moved_keys``);
* evaluate: ``evaluate(...)`` (told the moved keys where it can be), and the undecided count of each rule (what
  the debug tallies read).

It runs against whichever ``monitor`` is on ``PYTHONPATH``, so a checkout of an older commit measures "before" on
the same data and machine:

    PYTHONPATH=. .venv/bin/python bench/diff_evaluate.py [--ads 100000] [--changed 0.15] [--repeats 9]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import monitor.domain as domain
from monitor.domain import EntityState, Level, Snapshot
from monitor.domain.values import ReadOnlyDict
from monitor.rules import evaluate
from monitor.rules.loader import load_rules
from monitor.store.diff import diff_snapshots

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
ADVERTISER = "7000000000000000099"
RULES = Path(__file__).parent / "rules"


def window(values: dict[str, Any], shared: dict[tuple[Any, ...], ReadOnlyDict]) -> ReadOnlyDict:
    key = tuple(values.items())
    found = shared.get(key)
    if found is None:
        found = shared[key] = ReadOnlyDict(values)
    return found


def states(ads: int, rng: random.Random) -> list[EntityState]:
    shared: dict[tuple[Any, ...], ReadOnlyDict] = {}
    out = [EntityState(level=Level.CAMPAIGN, id=f"c{n}", advertiser_id=ADVERTISER, name=f"campaign {n}",
                       budget=5000.0, budget_mode="BUDGET_MODE_DAY",
                       metrics={"today": {"spend": 100.0 + n, "conversion": n % 3}}) for n in range(20)]  # fmt: skip
    for n in range(max(ads // 100, 1)):
        today = {"spend": round(rng.uniform(0, 300), 2), "clicks": rng.randint(0, 200), "conversion": 0,
                 "cpc": round(rng.uniform(0.1, 4), 2), "ctr": round(rng.uniform(0.1, 3), 2),
                 "impressions": rng.randint(0, 20000)}  # fmt: skip
        yesterday = {"spend": 50.0, "conversion": n % 2}
        out.append(EntityState(level=Level.ADGROUP, id=f"g{n}", advertiser_id=ADVERTISER, name=f"ad group {n}",
                               budget=500.0, budget_mode="BUDGET_MODE_DAY", campaign_id=f"c{n % 20}",
                               metrics={"today": today, "yesterday": yesterday}))  # fmt: skip
    for n in range(ads):
        metrics = {
            "today": window({"clicks": rng.randint(0, 40), "conversion": rng.randint(0, 1), "cpc": round(
                rng.uniform(0.1, 4), 2), "ctr": round(rng.uniform(0.1, 3), 2), "impressions": rng.randint(0, 3000),
                "spend": round(rng.uniform(0, 150), 2)}, {}),
            "yesterday": window({"cost_per_conversion": None if n % 3 else round(rng.uniform(5, 80), 0)}, shared),
            "last_7d": window({"conversion": rng.randint(0, 2), "spend": round(rng.uniform(0, 400), 0)}, shared),
            "lifetime": window({"cost_per_conversion": None if n % 5 == 0 else float(rng.randint(10, 100))}, shared),
        }  # fmt: skip
        out.append(EntityState(level=Level.AD, id=f"a{n}", advertiser_id=ADVERTISER, name=f"ad {n}",
                               operation_status="ENABLE", secondary_status="AD_STATUS_DELIVERY_OK",
                               campaign_id=f"c{n % 20}", adgroup_id=f"g{n % max(ads // 100, 1)}",
                               metrics=ReadOnlyDict(metrics)))  # fmt: skip
    return out


def previous_of(current: list[EntityState], changed: float, rng: random.Random) -> list[EntityState]:
    out = []
    for state in current:
        if rng.random() >= changed:
            out.append(state)  # unchanged: the new state stands for the previous one
            continue
        today = dict(state.metrics.get("today", {}))
        today["spend"] = max(0.0, round(today.get("spend", 0.0) - rng.uniform(0.5, 80), 2))
        metrics = ReadOnlyDict({**state.metrics, "today": ReadOnlyDict(today)})
        status = "DISABLE" if rng.random() < 0.01 else state.operation_status
        out.append(replace(state, metrics=metrics, operation_status=status))
    return out


def cpu(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ads", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.15)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    rng = random.Random(18)
    made = states(args.ads, rng)
    current = Snapshot(ADVERTISER, 2, NOW, {s.key: s for s in made})
    previous = Snapshot(ADVERTISER, 1, NOW, {s.key: s for s in previous_of(made, args.changed, rng)})
    rules = load_rules(RULES, channels=["console"])
    moved_keys = getattr(domain, "moved_keys", None)  # older code: no such shortcut

    def moved() -> list[Any] | None:
        return None if moved_keys is None else moved_keys(previous.entities, current.entities)

    def diff() -> object:
        found = moved()
        return diff_snapshots(previous, current, metrics=False, **({} if found is None else {"moved": found}))

    def evaluation() -> object:
        found = moved()  # (worked out once in a poll, for the diff: not timed twice below)
        extra: dict[str, Any] = {} if found is None else {"moved": found}
        done = evaluate(rules, current, previous, NOW, zone="America/New_York", currency="USD", **extra)
        for rule in rules:  # what the debug tallies read
            count = getattr(done, "undecided_count", None)
            _ = count(rule.name) if count else len(done.undecided.get(rule.name, ()))
        return done

    found = moved()
    moved_seconds = cpu(moved, args.repeats) if found is not None else 0.0
    diff_seconds = cpu(diff, args.repeats)
    evaluate_seconds = cpu(evaluation, args.repeats) - moved_seconds
    result = diff()
    print(f"{len(current.entities):,} entities, {len(found) if found is not None else '?'} moved; "
          f"{len(result.changed)} field changes; medians of {args.repeats}, CPU ms")  # type: ignore[attr-defined]  # fmt: skip
    print(f"moved keys {moved_seconds * 1000:8.1f}")
    print(f"diff       {diff_seconds * 1000:8.1f}  (moved keys included)")
    print(f"evaluate   {evaluate_seconds * 1000:8.1f}  (moved keys not included)")
    print(f"together   {(diff_seconds + evaluate_seconds) * 1000:8.1f}")


if __name__ == "__main__":
    main()
