"""The composition root's limiter: its longest pause follows the poll interval, its hooks feed the metrics."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from monitor.accounts import build_clients
from monitor.config import load_settings
from monitor.health import HealthServer, HealthState
from monitor.metrics import Metrics
from monitor.sandbox import Sandbox, SandboxSettings
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


async def test_every_throttled_answer_of_the_sandboxs_own_limit_shows_in_metrics(tmp_path: Path, clock, http) -> None:
    """Not an injected fault: the sandbox's own 3 QPS refuses what a client allowed 10 QPS sends, and every
    40100 it answered is counted in ``/metrics`` (issue 18: the counter reported 0 while the sandbox had
    answered 40100 four to nine times)."""
    slow = Sandbox(SandboxSettings(qps=3, campaigns_per_advertiser=3, adgroups_per_campaign=2), clock=clock)
    async with slow.serve(host="127.0.0.1", port=0) as base_url:
        (tmp_path / "rules").mkdir()
        (tmp_path / "config.toml").write_text(
            f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        )
        metrics = Metrics()
        client = next(iter(build_clients(load_settings(tmp_path / "config.toml"), http, metrics).values()))
        await asyncio.gather(*(client.campaigns(ADV) for _ in range(12)))
        state = HealthState(clock=clock, interval=timedelta(minutes=5))
        async with HealthServer(state, metrics.registry, port=0) as server, http.get(f"{server.url}/metrics") as resp:
            text = await resp.text()
    answered = sum(1 for a in slow.arrivals if a.code == 40100)
    counted = {
        (family.name, sample.labels.get("scope")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.endswith("_total")
    }
    assert answered > 0
    assert counted[("tiktok_monitor_api_throttles", "app")] == answered
    assert counted[("tiktok_monitor_api_throttle_episodes", "app")] >= 1
