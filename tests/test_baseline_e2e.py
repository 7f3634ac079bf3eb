"""A baseline rule end to end (issue 19, item 4): four weeks of sandbox history (the clock injected four weeks
ahead, not waited for), fetched once per past day and paced, and the rule fires for the campaign a person paused
this morning: its spend so far is far below what it usually is by this time on a Tuesday."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import aiohttp

from monitor.config import load_settings
from monitor.domain import Level
from monitor.fetch_baseline import DAYS_PER_POLL
from monitor.once import run_once
from monitor.store.repo import Store
from tests.test_hours_e2e import spend_today_at
from tests.test_pacing_e2e import ACME, THROTTLED, write_config

#: Tuesday 2026-12-22, 15:00 in New York: four weeks after the sandbox's T0, so its four previous Tuesdays all
#: have delivery (the sandbox's campaigns began about three weeks before T0).
NOW = datetime(2026, 12, 22, 20, 0, tzinfo=UTC)
UNDER = (
    '[[rule]]\nname = "underdelivery"\nlevel = "campaign"\n'
    'when = "spend < 0.8 * baseline(spend) and baseline(spend) > 100"\nnotify = ["console"]\n'
)
HISTORY = "report/integrated/get/"


async def test_a_baseline_rule_fires_after_four_weeks_of_history(tmp_path, sandbox, clock, make_client, capsys):
    client = make_client()
    # what each campaign spent by 15:00 on each of the four previous Tuesdays, read the way `today` is read
    past = [await spend_today_at(client, clock, NOW - timedelta(weeks=back)) for back in range(1, 5)]
    later = [
        await spend_today_at(client, clock, NOW + timedelta(minutes=10) - timedelta(weeks=back)) for back in range(1, 5)
    ]
    ids = set().union(*past)
    assert len(ids) == 2 and all(all(i in day for day in past) for i in ids)  # every Tuesday delivered
    two_weeks = {i: (past[0][i] + past[1][i]) / 2 for i in ids}  # what the first poll has: the newest two
    four_weeks = {i: sum(day[i] for day in later) / 4 for i in ids}  # the third poll, at 15:10
    paused = max(ids)
    clock.set(NOW - timedelta(hours=5))  # 10:00 in New York: a person pauses one campaign
    async with aiohttp.ClientSession() as http:
        body = {"entity_id": paused, "operation_status": "DISABLE"}
        async with http.post(f"{sandbox.base_url}/sandbox/changes", json=body) as answer:
            assert answer.status == 200, await answer.text()
    clock.set(NOW)
    settings = load_settings(write_config(tmp_path, sandbox.base_url, UNDER, [ACME]))
    made = []
    for _ in range(3):  # DAYS_PER_POLL past days per poll: the four Tuesdays take two polls, the third none
        before = len(sandbox.arrivals)
        assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
        made.append(sum(a.path == HISTORY and a.code != THROTTLED for a in list(sandbox.arrivals)[before:]))
        clock.advance(5 * 60)
    assert made == [1 + DAYS_PER_POLL, 1 + DAYS_PER_POLL, 1]  # today's report + the history of past days
    store = await Store.open(settings.storage.url)
    try:
        first, _, third = sorted(run.id for run in await store.polls(ACME))
        snapshots = [await store.snapshot(ACME, first), await store.snapshot(ACME, third)]
        alerts = await store.alerts.load(ACME)
    finally:
        await store.close()
    for snapshot, expected, tolerance in zip(snapshots, (two_weeks, four_weeks), (0.1, 0.01), strict=True):
        assert snapshot is not None
        for campaign_id, mean in expected.items():
            got = snapshot.get(Level.CAMPAIGN, campaign_id).metrics["baseline_4w"]["spend"]
            # at 15:00 the hours 00:00-14:00 whole (the daily report's cents against 15 hours' cents); at 15:10
            # a sixth of the 15:00 hour, pro rata where the sandbox's curve bends a little within the hour
            assert abs(got - mean) <= tolerance * (1 if tolerance >= 0.1 else mean), (campaign_id, got, mean)
    firing = {entity_id for (rule, _, entity_id), state in alerts.items() if state.state == "firing"}
    assert firing == {paused}
    told = capsys.readouterr().out
    assert 'Firing: rule "underdelivery"' in told and "baseline(spend)" in told
