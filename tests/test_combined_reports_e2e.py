"""Polls that run together read their reports over up to 5 advertisers per call (issue 18, item 4): the same
states as polls reading alone, fewer report calls, counted from the sandbox's arrivals."""

from __future__ import annotations

import asyncio
import io

import pytest

from monitor.config import load_settings
from monitor.domain import EntityState, Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.once import run_once
from monitor.sandbox import SandboxSettings
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.ratelimit import RateLimiter

PATH = "report/integrated/get/"
PLAN = FetchPlan(
    {
        Level.CAMPAIGN: LevelPlan(("operation_status", "budget"), {"today": ("spend", "cpc"), "lifetime": ("spend",)}),
        Level.ADGROUP: LevelPlan(("operation_status",), {"today": ("spend", "conversion"), "yesterday": ("spend",)}),
        Level.AD: LevelPlan(("operation_status",), {"today": ("spend", "ctr"), "last_7d": ("spend",)}),
    }
)
WINDOWS = sum(len(lp.windows) for lp in PLAN.levels.values())


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    # the four default advertisers (two local dates at the test clock's 20:00 UTC) and six UTC ones; no rate limit
    # to speak of, so the polls' ad lists (which each poll's ad-level reports wait for) come back together
    return SandboxSettings(
        qps=1000, campaigns_per_advertiser=3, adgroups_per_campaign=2, ads_per_adgroup=4, extra_advertisers=6
    )


def report_calls(sandbox) -> tuple[int, int]:
    """(calls over advertiser_ids, calls for one advertiser) of report/integrated/get/."""
    calls = [a for a in sandbox.arrivals if a.path == PATH]
    return sum(a.advertiser_id is None for a in calls), sum(a.advertiser_id is not None for a in calls)


def typed(states: tuple[EntityState, ...]) -> list[tuple[object, ...]]:
    """Every state with its metrics' types (0 and 0.0 differ, None is no data)."""
    return sorted(
        (
            s.level.value,
            s.id,
            s.name,
            s.operation_status,
            s.budget,
            sorted((w, sorted((k, type(v).__name__, v) for k, v in m.items())) for w, m in s.metrics.items()),
        )
        for s in states
    )


async def test_polls_together_read_the_same_states_with_fewer_report_calls(sandbox, make_client, clock):
    client = make_client(limiter=RateLimiter(1000))
    infos = await client.advertiser_info(list(sandbox.world.advertisers))
    now = clock.now()
    sandbox.arrivals.clear()
    together = await asyncio.gather(*(fetch_snapshot(client, i, PLAN, now) for i in infos))
    multi, single = report_calls(sandbox)
    # ten advertisers on two local dates (New York, Honolulu and six UTC ones; Auckland and Tokyo): per window
    # 5 + 3 and 2 advertisers in one call each, the lifetime window 5 + 5: at most 3 calls a window, not 10
    assert single == 0 and multi <= 3 * WINDOWS
    sandbox.arrivals.clear()
    alone_client = TikTokClient(client.transport, report_gather=None)
    alone = [await fetch_snapshot(alone_client, i, PLAN, now) for i in infos]
    assert report_calls(sandbox) == (0, len(infos) * WINDOWS)
    for combined, own in zip(together, alone, strict=True):
        assert not combined.errors and not own.errors
        assert typed(combined.states) == typed(own.states)
        assert any(m for s in own.states for m in s.metrics.values())


async def test_once_over_several_advertisers_makes_fewer_report_calls(tmp_path, sandbox, clock):
    ids = ", ".join(f'"{a}"' for a in sandbox.world.advertisers)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(
        '[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\nnotify = ["console"]\n'
    )
    (tmp_path / "config.toml").write_text(
        f'[tiktok]\nbase_url = "{sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = [{ids}]\n'
        f'[monitor]\nrules = "{tmp_path / "rules"}"\n[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[console]\n'
    )
    out = io.StringIO()
    assert await run_once(load_settings(tmp_path / "config.toml"), out=out, clock=clock) == 0
    assert "10 advertiser(s), 0 failed" in out.getvalue()
    multi, single = report_calls(sandbox)
    assert multi >= 1 and multi + single < 10  # one report (today's campaigns) per advertiser before
