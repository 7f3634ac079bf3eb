"""The composition root's limiter: its longest pause follows the poll interval, its hooks feed the metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.accounts import build_clients
from monitor.config import load_settings
from monitor.metrics import Metrics
from monitor.sandbox import Sandbox
from monitor.sandbox.faults import Fault

ADV = "7000000000000000001"
EAST = "7000000000000000002"


async def test_the_daemons_limiter_pauses_at_most_a_quarter_interval_and_counts_episodes(
    tmp_path: Path, sandbox: Sandbox, http
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "config.toml").write_text(
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\n'
        f'advertiser_ids = ["{ADV}", "{EAST}"]\n[monitor]\ninterval = "60s"\n'
    )
    metrics = Metrics()
    client = next(iter(build_clients(load_settings(tmp_path / "config.toml"), http, metrics).values()))
    limiter = client.transport.limiter
    assert limiter.max_pause == 15.0

    sandbox.faults.add(Fault(kind="api_code", code=40100, count=2))  # both requests in flight are throttled
    results = await asyncio.gather(client.campaigns(ADV), client.campaigns(EAST))
    assert [len(r) for r in results] == [3, 3]

    def sample(name: str, scope: str) -> float | None:
        return metrics.registry.get_sample_value(f"tiktok_monitor_{name}", {"scope": scope})

    assert sample("api_throttles_total", "app") == 2
    assert sample("api_throttle_episodes_total", "app") == 1
    assert (sample("api_throttles_total", "local") or 0) >= 1  # the retries waited for the pause
