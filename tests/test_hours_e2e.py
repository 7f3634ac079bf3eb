"""An hourly rule end to end (issue 19, item 3): `once` against the sandbox fires for the campaigns whose last
hour spent more than a threshold, and a poll without an hourly rule makes no hourly call."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from monitor.config import load_settings
from monitor.domain import Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.fetch_baseline import DAYS_PER_POLL
from monitor.once import run_once
from monitor.store.repo import Store
from monitor.tiktok.models import DEFAULT_FIELDS
from tests.test_pacing_e2e import ACME, calls_of, write_config

HOURLY = (
    '[[rule]]\nname = "hot-hour"\nlevel = "campaign"\nwhen = "last_hour.spend > {threshold}"\nnotify = ["console"]\n'
)
REPORT = "report/integrated/get/"


async def spend_today_at(client, clock, at: datetime) -> dict[str, float]:
    """Each campaign's spend today as the daily report says it with the sandbox's clock at ``at``."""
    now = clock.now()
    clock.set(at)
    try:
        advertiser = (await client.advertiser_info([ACME]))[0]
        plan = FetchPlan({Level.CAMPAIGN: LevelPlan(DEFAULT_FIELDS[Level.CAMPAIGN], {"today": ("spend",)})})
        result = await fetch_snapshot(client, advertiser, plan, at)
    finally:
        clock.set(now)
    return {s.id: s.metrics["today"]["spend"] or 0.0 for s in result.states if s.metrics.get("today")}


async def test_an_hourly_rule_fires_for_the_hot_hours(tmp_path, sandbox, clock, make_client, capsys):
    # T0 is 15:00 in New York: the last hour is 14:00-15:00, what today's spend grew by in it
    client = make_client()
    at_two = await spend_today_at(client, clock, clock.now() - timedelta(hours=1))
    at_three = await spend_today_at(client, clock, clock.now())
    last_hour = {i: at_three[i] - at_two.get(i, 0.0) for i in at_three}
    threshold = round((max(last_hour.values()) + min(last_hour.values())) / 2, 2)  # some fire, some do not
    expected = {i for i, spent in last_hour.items() if spent > threshold}
    assert expected and expected != set(last_hour)
    settings = load_settings(write_config(tmp_path, sandbox.base_url, HOURLY.format(threshold=threshold), [ACME]))
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    store = await Store.open(settings.storage.url)
    try:
        alerts = await store.alerts.load(ACME)
    finally:
        await store.close()
    firing = {entity_id for (rule, _, entity_id), state in alerts.items() if state.state == "firing"}
    assert firing == expected
    told = capsys.readouterr().out
    assert 'Firing: rule "hot-hour"' in told and "last_hour.spend" in told


async def test_a_poll_makes_the_hourly_call_only_when_a_rule_reads_an_hour(tmp_path, sandbox, clock):
    calls = {}
    for number, when in enumerate(
        [
            "spend > 0",
            "spend > 0 and last_hour.spend > 0",
            "last_3h.cpc > 0 and last_hour.spend > 0 and this_hour.clicks >= 0 and spend > 0",
            "spend > 2 * baseline(spend) and stddev(spend) >= 0 and baseline(cpc, weeks=3) > 0",
        ]
    ):
        (tmp_path / str(number)).mkdir()
        calls[when] = await calls_of(tmp_path / str(number), sandbox, when, clock)
    daily, hourly, many_hourly, baseline = calls.values()
    assert daily == ["advertiser/info/", "campaign/get/", REPORT]
    assert hourly == many_hourly == sorted([*daily, REPORT])  # every hourly window shares today's hourly report
    # baselines: past days' hourly reports, DAYS_PER_POLL of them on a first poll (the backfill's pace), each
    # asking for every metric the level's baselines need; never the hourly rules' report, nor without a baseline
    assert baseline == sorted([*daily, *[REPORT] * DAYS_PER_POLL])
    # 06:30 UTC is 01:30 in New York: last_3h (22:00, 23:00, 00:00) crosses local midnight: one report more
    clock.set(datetime(2026, 11, 25, 6, 30, tzinfo=UTC))
    (tmp_path / "midnight").mkdir()
    across = await calls_of(tmp_path / "midnight", sandbox, "last_3h.spend > 0 and spend > 0", clock)
    assert across == sorted([*daily, REPORT, REPORT])
