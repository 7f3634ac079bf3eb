"""How fast rules evaluate: 20 typical rules over 100,000 entities, ours against simpleeval and cel-python.

Builds a snapshot of N ad groups (default 100,000) with realistic metrics in four windows (about 10 % without a
report row today, as happens in the morning), and a previous snapshot for prev/changed/delta. Then evaluates the
same 20 conditions with

* ours: ``monitor.rules.evaluate`` over the whole snapshot (findings, values and reasons included), and the bare
  compiled conditions called per entity;
* simpleeval (``SimpleEval``, expressions parsed once, a names dict per entity built beforehand; shown without
  and with the time to build those dicts, since simpleeval cannot read an ``EntityState``);
* cel-python (compiled once, an activation per entity built beforehand and not timed), on a sample of entities
  because it is much slower;
* and, as a yardstick, a loop that only *reads* every value the 20 rules name, once per entity, the way our
  program reads them, and decides nothing: no evaluator that reads ``EntityState`` objects can be faster than
  that, so it is the ceiling for ours.

The other two get the expressions translated by hand (``yesterday.cpc`` -> ``yesterday_cpc``, ``changed(x)`` ->
``x != prev_x``, CEL's ``&&``/``||``/``!``). Missing values are None; where they make simpleeval or CEL raise,
the error is caught (counted as "unknown"), which is the price those evaluators pay for missing data.

    .venv/bin/python bench/rules_eval.py [--entities 100000] [--cel-sample 2000] [--simpleeval-sample 0]
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from monitor.domain import EntityState, Level, Snapshot
from monitor.rules import Rule, evaluate
from monitor.rules.codegen import Emitter
from monitor.rules.expr import Context, compile_when
from monitor.rules.program import Source, audit
from monitor.rules.reads import EMPTY, indent

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
ADVERTISER = "7000000000000000001"

# (ours, Python for simpleeval, CEL)
RULES = [
    ("spend > 500 and conversion == 0", "spend > 500 and conversion == 0", "spend > 500.0 && conversion == 0.0"),
    (
        "clicks >= 50 and yesterday.clicks >= 50 and cpc > 1.5 * yesterday.cpc",
        "clicks >= 50 and yesterday_clicks >= 50 and cpc > 1.5 * yesterday_cpc",
        "clicks >= 50.0 && yesterday_clicks >= 50.0 && cpc > 1.5 * yesterday_cpc",
    ),
    ("budget_used >= 0.9 and hour < 18", "budget_used >= 0.9 and hour < 18", "budget_used >= 0.9 && hour < 18.0"),
    (
        'secondary_status == "ADGROUP_STATUS_BUDGET_EXCEED"',
        'secondary_status == "ADGROUP_STATUS_BUDGET_EXCEED"',
        'secondary_status == "ADGROUP_STATUS_BUDGET_EXCEED"',
    ),
    (
        'secondary_status in ["ADGROUP_STATUS_BUDGET_EXCEED", "ADGROUP_STATUS_CAMPAIGN_EXCEED"]',
        "secondary_status in out_of_budget",  # SimpleEval has no list literals: the list is a name
        'secondary_status in ["ADGROUP_STATUS_BUDGET_EXCEED", "ADGROUP_STATUS_CAMPAIGN_EXCEED"]',
    ),
    (
        'changed(secondary_status) and secondary_status == "ADGROUP_STATUS_AUDIT_DENY"',
        'secondary_status != prev_secondary_status and secondary_status == "ADGROUP_STATUS_AUDIT_DENY"',
        'secondary_status != prev_secondary_status && secondary_status == "ADGROUP_STATUS_AUDIT_DENY"',
    ),
    ("delta(spend) > 200", "spend - prev_spend > 200", "spend - prev_spend > 200.0"),
    (
        "impressions >= 5000 and ctr < last_7d.ctr / 3",
        "impressions >= 5000 and ctr < last_7d_ctr / 3",
        "impressions >= 5000.0 && ctr < last_7d_ctr / 3.0",
    ),
    (
        "conversion >= 5 and cost_per_conversion > 2 * last_7d.cost_per_conversion",
        "conversion >= 5 and cost_per_conversion > 2 * last_7d_cost_per_conversion",
        "conversion >= 5.0 && cost_per_conversion > 2.0 * last_7d_cost_per_conversion",
    ),
    ("spend > 50 and clicks == 0", "spend > 50 and clicks == 0", "spend > 50.0 && clicks == 0.0"),
    (
        'operation_status == "ENABLE" and impressions < 100 and hour >= 12',
        'operation_status == "ENABLE" and impressions < 100 and hour >= 12',
        'operation_status == "ENABLE" && impressions < 100.0 && hour >= 12.0',
    ),
    (
        "last_3d.conversion >= 30 and last_3d.cost_per_conversion < 15 and budget_used > 0.8",
        "last_3d_conversion >= 30 and last_3d_cost_per_conversion < 15 and budget_used > 0.8",
        "last_3d_conversion >= 30.0 && last_3d_cost_per_conversion < 15.0 && budget_used > 0.8",
    ),
    ("cpm > 20 or ctr < 0.3", "cpm > 20 or ctr < 0.3", "cpm > 20.0 || ctr < 0.3"),
    (
        "conversion_rate < 0.5 and clicks > 200",
        "conversion_rate < 0.5 and clicks > 200",
        "conversion_rate < 0.5 && clicks > 200.0",
    ),
    (
        'budget_mode == "BUDGET_MODE_DAY" and spend > 0.8 * budget',
        'budget_mode == "BUDGET_MODE_DAY" and spend > 0.8 * budget',
        'budget_mode == "BUDGET_MODE_DAY" && spend > 0.8 * budget',
    ),
    (
        'not (operation_status == "DISABLE") and spend > 1000',
        'not (operation_status == "DISABLE") and spend > 1000',
        '!(operation_status == "DISABLE") && spend > 1000.0',
    ),
    (
        'weekday in ["sat", "sun"] and cost_per_conversion > 40',
        "weekday in weekend and cost_per_conversion > 40",
        'weekday in ["sat", "sun"] && cost_per_conversion > 40.0',
    ),
    ("frequency > 4 and reach > 10000", "frequency > 4 and reach > 10000", "frequency > 4.0 && reach > 10000.0"),
    (
        "yesterday.spend > 0 and spend / yesterday.spend > 2",
        "yesterday_spend > 0 and spend / yesterday_spend > 2",
        "yesterday_spend > 0.0 && spend / yesterday_spend > 2.0",
    ),
    (
        "clicks >= 100 and abs(delta(cpc)) > 0.5",
        "clicks >= 100 and abs(cpc - prev_cpc) > 0.5",
        "clicks >= 100.0 && (cpc - prev_cpc > 0.5 || cpc - prev_cpc < -0.5)",
    ),
]
STATUSES = ["ADGROUP_STATUS_DELIVERY_OK"] * 20 + [
    "ADGROUP_STATUS_BUDGET_EXCEED",
    "ADGROUP_STATUS_CAMPAIGN_EXCEED",
    "ADGROUP_STATUS_AUDIT_DENY",
    "ADGROUP_STATUS_DISABLE",
]
NAMES_READ = sorted(
    {"budget", "budget_mode", "operation_status", "secondary_status", "prev_secondary_status", "prev_spend"}
    | {"prev_cpc", "budget_used", "hour", "weekday"}
)


def day_metrics(rng: random.Random, scale: float) -> dict[str, float | int]:
    impressions = int(rng.lognormvariate(8, 1.2) * scale)
    clicks = int(impressions * rng.uniform(0.002, 0.02))
    spend = round(impressions / 1000 * rng.uniform(3, 15), 2)
    conversion = int(clicks * rng.uniform(0, 0.08))
    reach = int(impressions / rng.uniform(1.1, 3))
    return {
        "spend": spend,
        "impressions": impressions,
        "clicks": clicks,
        "ctr": round(100 * clicks / impressions, 2) if impressions else 0.0,
        "cpc": round(spend / clicks, 2) if clicks else 0.0,
        "cpm": round(1000 * spend / impressions, 2) if impressions else 0.0,
        "conversion": conversion,
        "cost_per_conversion": round(spend / conversion, 2) if conversion else 0.0,
        "conversion_rate": round(100 * conversion / clicks, 2) if clicks else 0.0,
        "reach": reach,
        "frequency": round(impressions / reach, 2) if reach else 0.0,
    }


def build(count: int, seed: int = 7) -> tuple[Snapshot, Snapshot]:
    """The current and the previous snapshot, each built in one pass as the store builds one from its rows."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        metrics = {
            "yesterday": day_metrics(rng, 1.0),
            "last_3d": day_metrics(rng, 3.0),
            "last_7d": day_metrics(rng, 7.0),
        }
        if rng.random() > 0.1:  # no report row today for about 1 in 10
            metrics["today"] = day_metrics(rng, 0.8)
        fields = {
            "level": Level.ADGROUP,
            "id": str(1_700_000_000_000_000 + n),
            "advertiser_id": ADVERTISER,
            "campaign_id": str(1_800_000_000_000_000 + n // 10),
            "name": f"Ad group {n}",
            "operation_status": "ENABLE" if rng.random() > 0.1 else "DISABLE",
            "budget": float(rng.choice([50, 100, 200, 500, 1000, 2000])),
            "budget_mode": rng.choice(["BUDGET_MODE_DAY", "BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL"]),
        }
        status = rng.choice(STATUSES)
        before = dict(metrics)
        if "today" in metrics:
            today = metrics["today"]
            before["today"] = {**today, "spend": round(today["spend"] * 0.9, 2)}
            before["today"]["cpc"] = round(today["cpc"] * rng.uniform(0.7, 1.3), 2)
        old_status = status if rng.random() > 0.05 else "ADGROUP_STATUS_AUDIT"
        rows.append((fields, status, metrics, old_status, before))
    previous = [EntityState(secondary_status=old, metrics=before, **fields) for fields, _, _, old, before in rows]
    current = [
        EntityState(secondary_status=status, metrics=metrics, **fields) for fields, status, metrics, _, _ in rows
    ]
    return (
        Snapshot(ADVERTISER, 2, NOW, {state.key: state for state in current}),
        Snapshot(ADVERTISER, 1, NOW, {state.key: state for state in previous}),
    )


WEEKEND = ("sat", "sun")
OUT_OF_BUDGET = ("ADGROUP_STATUS_BUDGET_EXCEED", "ADGROUP_STATUS_CAMPAIGN_EXCEED")


def flat_names(entity: EntityState, previous: EntityState | None, hour: int, weekday: str) -> dict[str, object]:
    """What simpleeval and CEL get for one entity: every value under a flat name (None: no data)."""
    names: dict[str, object] = {"hour": hour, "weekday": weekday, "weekend": WEEKEND, "out_of_budget": OUT_OF_BUDGET}
    for field in ("budget", "budget_mode", "operation_status", "secondary_status"):
        names[field] = getattr(entity, field)
    for window in ("today", "yesterday", "last_3d", "last_7d"):
        values = entity.metrics.get(window, {})
        for metric in ("spend", "impressions", "clicks", "ctr", "cpc", "cpm", "conversion", "cost_per_conversion"):
            names[metric if window == "today" else f"{window}_{metric}"] = values.get(metric)
        for metric in ("conversion_rate", "reach", "frequency"):
            names[metric if window == "today" else f"{window}_{metric}"] = values.get(metric)
    spend = names["spend"]
    daily = entity.budget_mode == "BUDGET_MODE_DAY" and entity.budget
    names["budget_used"] = spend / entity.budget if daily and spend is not None else None  # type: ignore[operator]
    before = previous.metrics.get("today", {}) if previous is not None else {}
    names["prev_spend"] = before.get("spend")
    names["prev_cpc"] = before.get("cpc")
    names["prev_secondary_status"] = previous.secondary_status if previous is not None else None
    return names


def reading_only(rules: list[Rule]) -> Callable[..., None]:
    """``run(entities, before)``: read every value the rules name for each entity (metrics a window shares
    with one itemgetter call, as the engine does) and decide nothing."""
    emitter = Emitter()
    refs = [ref for rule in rules for ref in rule.when.refs]
    emitter.preload(sorted({("m", r.window, r.key, r.prev) for r in refs if r.kind == "metric"}, key=repr))
    for ref in refs:
        emitter.load(ref)
    params = ", ".join(
        ["E", *(f"k{n}" for n in range(len(emitter.consts))), *(f"g{n}" for n in range(len(emitter.getters)))]
    )
    lines = [
        f"def make({params}):",
        "    def run(entities, before):",
        "        for cur in entities:",
        "            prev = before.get((cur.level, cur.id))",
        *indent(emitter.prologue, 12),
        "    return run",
    ]
    text = "\n".join(lines) + "\n"
    audit(text)
    return Source(text, (EMPTY, *emitter.consts, *emitter.getters)).build()  # type: ignore[no-any-return]


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f} evaluations/s  ({count:,} in {seconds:.2f} s)"


def timed(work: Callable[[], object]) -> tuple[float, object]:
    """Seconds taken by ``work()`` with the cyclic GC paused, as timeit does (a full collection over millions
    of live metric dicts would otherwise land in whichever evaluator happens to allocate at the wrong time)."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        result = work()
        return time.perf_counter() - started, result
    finally:
        gc.enable()


def main(entities: int, cel_sample: int, simpleeval_sample: int) -> None:
    t0 = time.perf_counter()
    current, previous = build(entities)
    print(f"built {entities:,} ad groups (+ previous poll) in {time.perf_counter() - t0:.1f} s; {len(RULES)} rules")
    rules = [
        Rule(name=f"rule-{i}", level=Level.ADGROUP, when=compile_when(ours, level=Level.ADGROUP))
        for i, (ours, _, _) in enumerate(RULES)
    ]
    total = entities * len(rules)
    evaluate(rules, current, previous, NOW)  # compiles the level's program once, as the daemon does at the first poll

    ours_engine, evaluation = timed(lambda: evaluate(rules, current, previous, NOW))
    findings = len(evaluation.findings)  # type: ignore[attr-defined]
    print(f"ours, engine (evaluate)       {rate(total, ours_engine)}; {findings:,} findings, with their values")

    states = list(current.entities.values())
    before = previous.entities

    def one_at_a_time() -> list[int]:
        ctx, hits = Context(None, None, NOW.hour, "tue"), [0] * len(rules)
        conditions = [rule.when.fn for rule in rules]
        for state in states:
            ctx.cur = state
            ctx.prev = before.get(state.key)
            for n, condition in enumerate(conditions):
                if condition(ctx) is True:
                    hits[n] += 1
        return hits

    for rule in rules:
        rule.when.fn  # noqa: B018 -- compiled on first use: not part of the timing
    ours_single, ours_hits = timed(one_at_a_time)
    print(f"ours, one condition at a time {rate(total, ours_single)}")
    read = reading_only(rules)
    reading, _ = timed(lambda: read(states, before))
    print(f"reading the values, no logic  {rate(total, reading)}; the ceiling for any evaluator of EntityState")

    import simpleeval

    names_seconds, built = timed(lambda: [flat_names(s, before.get(s.key), NOW.hour, "tue") for s in states])
    names: list[dict[str, object]] = built  # type: ignore[assignment]
    sample = names if not simpleeval_sample else names[:simpleeval_sample]
    evaluator = simpleeval.SimpleEval(functions={"abs": abs})
    parsed = [(python, evaluator.parse(python)) for _, python, _ in RULES]

    def run_simpleeval() -> tuple[list[int], int]:
        hits, errors = [0] * len(parsed), 0
        for entity_names in sample:
            evaluator.names = entity_names
            for n, (python, tree) in enumerate(parsed):
                try:
                    if evaluator.eval(python, previously_parsed=tree) is True:
                        hits[n] += 1
                except Exception:  # None in arithmetic or ordering: what missing data costs here
                    errors += 1
        return hits, errors

    simple, (simple_hits, errors) = timed(run_simpleeval)  # type: ignore[misc]
    simple_count = len(sample) * len(RULES)
    print(f"simpleeval (pre-parsed)       {rate(simple_count, simple)}; {errors:,} raised on missing data")
    per_entity = names_seconds / len(names) * len(sample)
    print(f"simpleeval + its names dicts  {rate(simple_count, simple + per_entity)}; a flat names dict per entity")

    import celpy
    from celpy import celtypes

    def cel(value: object) -> object:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return celtypes.DoubleType(value)
        return celtypes.StringType(value)

    env = celpy.Environment()
    programs = [env.program(env.compile(text)) for _, _, text in RULES]
    activations = [{k: cel(v) for k, v in n.items() if not isinstance(v, tuple)} for n in names[:cel_sample]]

    def run_cel() -> int:
        errors = 0
        for activation in activations:
            for program in programs:
                try:
                    program.evaluate(activation)
                except Exception:
                    errors += 1
        return errors

    cel_seconds, _ = timed(run_cel)
    cel_count = len(activations) * len(programs)
    print(f"cel-python (compiled once)    {rate(cel_count, cel_seconds)}; sample of {len(activations):,} entities")

    ours_rate, simple_rate, cel_rate = total / ours_engine, simple_count / simple, cel_count / cel_seconds
    with_names = simple_count / (simple + per_entity)
    print(
        f"\nours (engine) is {ours_rate / simple_rate:.1f}x simpleeval ({ours_rate / with_names:.1f}x counting its "
        f"names dicts) and {ours_rate / cel_rate:.0f}x cel-python; "
        f"one condition at a time: {(total / ours_single) / simple_rate:.1f}x simpleeval"
    )
    print(
        f"only reading the values the rules name would be {(total / reading) / simple_rate:.1f}x simpleeval; "
        f"ours takes {ours_engine / reading:.2f}x the time of reading alone"
    )
    if not simpleeval_sample:
        agree = sum(1 for a, b in zip(ours_hits, simple_hits, strict=True) if a == b)  # type: ignore[arg-type]
        print(f"rules where ours and simpleeval matched the same number of entities: {agree}/{len(RULES)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--cel-sample", type=int, default=2_000, help="entities evaluated by cel-python")
    parser.add_argument("--simpleeval-sample", type=int, default=0, help="entities for simpleeval (0: all)")
    args = parser.parse_args()
    main(args.entities, args.cel_sample, args.simpleeval_sample)
