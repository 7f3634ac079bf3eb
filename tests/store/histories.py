"""Random histories of one advertiser: what each poll saw, with renames, status and budget changes, windows that
come and go, entities that disappear and come back, and values whose type changes (0 -> 0.0) or go missing."""

from __future__ import annotations

import random
from typing import Any

from monitor.domain import EntityKey, EntityState, Level

from .conftest import state

WINDOWS = ("today", "yesterday", "last_7d")


def _values(rng: random.Random) -> dict[str, Any]:
    spend = rng.choice([0, 0.0, None, round(rng.uniform(0, 500), 2), rng.randint(0, 3)])
    return {"spend": spend, "conversion": rng.choice([None, 0, rng.randint(1, 9)]), "ctr": rng.choice([1.5, 2.25])}


def histories(seed: int, polls: int = 12, ads: int = 8) -> list[dict[EntityKey, EntityState]]:
    """What each of ``polls`` polls saw (every level saved each time)."""
    rng = random.Random(seed)
    alive: dict[str, dict[str, Any]] = {}
    out: list[dict[EntityKey, EntityState]] = []
    for _ in range(polls):
        for i in range(ads):
            entity_id = f"a{i}"
            fields = alive.get(entity_id)
            if fields is None:
                if rng.random() < 0.7:
                    windows = {w: _values(rng) for w in WINDOWS if rng.random() < 0.8}
                    alive[entity_id] = {"name": f"ad {i}", "operation_status": "ENABLE", "metrics": windows}
                continue
            roll = rng.random()
            if roll < 0.1:
                del alive[entity_id]
                continue
            metrics = dict(fields["metrics"])
            metrics["today"] = _values(rng)
            if rng.random() < 0.2:
                metrics["yesterday"] = _values(rng)
            if rng.random() < 0.15:
                metrics.pop(rng.choice(WINDOWS), None)
            fields = {**fields, "metrics": metrics}
            if rng.random() < 0.15:
                fields["name"] = f"ad {i} renamed {rng.randint(0, 99)}"
            if rng.random() < 0.15:
                fields["operation_status"] = rng.choice(["ENABLE", "DISABLE"])
            alive[entity_id] = fields
        seen = {k: state(k, **v) for k, v in alive.items()}
        budget = rng.choice([100.0, 150.0])
        seen["c1"] = state("c1", Level.CAMPAIGN, budget=budget, metrics={"today": {"spend": rng.randint(0, 5)}})
        out.append({s.key: s for s in seen.values()})
    return out
