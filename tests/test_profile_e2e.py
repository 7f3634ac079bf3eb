"""projected_spend over the account's own hourly profile, end to end (issue 19, item 2): `once` against the
sandbox with the clock injected, its hourly history fetched DAYS_PER_POLL past days a poll, and the projection
made with it closer to the day's real spend than the linear one (the sandbox's spend peaks at 20:00 local)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from monitor.config import load_settings
from monitor.domain import Level
from monitor.domain.profile import MIN_PROFILE_DAYS, PROFILE_WINDOW
from monitor.fetch_baseline import DAYS_PER_POLL
from monitor.once import run_once
from monitor.store.repo import Store
from tests.test_baseline_e2e import HISTORY, NOW
from tests.test_hours_e2e import spend_today_at
from tests.test_pacing_e2e import ACME, THROTTLED, write_config

PROJECTED = '[[rule]]\nname = "projected"\nlevel = "campaign"\nwhen = "projected_spend > 0"\nnotify = ["console"]\n'


async def test_projected_spend_follows_the_accounts_hourly_profile(tmp_path, sandbox, clock, make_client):
    client = make_client()
    # the day's real spend: what the daily report says a second before local midnight (NOW is 15:00 in New York)
    real = await spend_today_at(client, clock, NOW + timedelta(hours=9) - timedelta(seconds=1))
    clock.set(NOW)
    settings = load_settings(write_config(tmp_path, sandbox.base_url, PROJECTED, [ACME]))
    made = []
    for _ in range(2):  # DAYS_PER_POLL past days a poll: two polls store four, more than MIN_PROFILE_DAYS
        before = len(sandbox.arrivals)
        assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
        made.append(sum(a.path == HISTORY and a.code != THROTTLED for a in list(sandbox.arrivals)[before:]))
        clock.advance(60)
    assert made == [1 + DAYS_PER_POLL, 1 + DAYS_PER_POLL] and 2 * DAYS_PER_POLL >= MIN_PROFILE_DAYS
    store = await Store.open(settings.storage.url)
    try:
        first, second = sorted(run.id for run in await store.polls(ACME))
        snapshots = [await store.snapshot(ACME, first), await store.snapshot(ACME, second)]
        alerts = await store.alerts.load(ACME)
    finally:
        await store.close()
    assert all(snapshot is not None for snapshot in snapshots)
    elapsed = (15 * 60 + 1) / (24 * 60)  # the second poll: 15:01 in New York
    checked = 0
    for campaign in snapshots[1].of_level(Level.CAMPAIGN):
        spend = campaign.metrics.get("today", {}).get("spend")
        if not spend or real.get(campaign.id) is None:
            continue  # nothing spent today: projected_spend 0, not a test of the profile
        share = campaign.metrics[PROFILE_WINDOW]["spend"]
        # two days stored after the first poll: too little history, so that poll's projection was linear
        assert snapshots[0].get(Level.CAMPAIGN, campaign.id).metrics[PROFILE_WINDOW]["spend"] is None
        projected = alerts[("projected", "campaign", campaign.id)].values["projected_spend"]
        linear = spend / elapsed
        assert projected == pytest.approx(spend / share)
        # the budget-capped campaign's profile says it usually has its day's spend by now; the other's that less
        # than half is done by 15:00 (the evening peak): both end near the real day, where linear is 30-60 % off
        assert abs(projected - real[campaign.id]) < 0.02 * real[campaign.id], (campaign.id, projected, real)
        assert abs(linear - real[campaign.id]) > 0.25 * real[campaign.id], (campaign.id, linear, real)
        checked += 1
    assert checked == 2
