"""Pacing and currency end to end: `once` against the sandbox, `check` over the database it filled."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from monitor.config import load_settings
from monitor.domain import Level
from monitor.fetch_baseline import DAYS_PER_POLL
from monitor.once import run_once
from monitor.store.repo import Store

ACME, KIWI = "7000000000000000001", "7000000000000000002"  # the sandbox's USD (New York) and NZD (Auckland) accounts
REPO = Path(__file__).resolve().parents[1]
THROTTLED = 40100
OVERPACING = (
    '[[rule]]\nname = "overpacing"\nlevel = "campaign"\nwhen = "pace > 1.2 and budget_used < 1"\nnotify = ["console"]\n'
)
EXPENSIVE_CLICKS = '[[rule]]\nname = "expensive-clicks"\nlevel = "campaign"\nwhen = "cpc > 0.7"\nnotify = ["console"]\n'


def write_config(tmp_path: Path, base_url: str, rules: str, ids: list[str]) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "a.toml").write_text(rules)
    quoted = ", ".join(f'"{i}"' for i in ids)
    (tmp_path / "config.toml").write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = [{quoted}]\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[console]\n'
    )
    return tmp_path / "config.toml"


async def test_an_overpacing_campaign_fires_with_its_pace(tmp_path, sandbox, clock, capsys):
    # T0 is 15:00 in New York: 15/24 of Acme's day is gone
    settings = load_settings(write_config(tmp_path, sandbox.base_url, OVERPACING, [ACME]))
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0
    store = await Store.open(settings.storage.url)
    try:
        current = await store.snapshot(ACME, 1)
        alerts = await store.alerts.load(ACME)
    finally:
        await store.close()
    assert current is not None
    expected = {}
    for campaign in current.of_level(Level.CAMPAIGN):  # the pace from what TikTok sent, computed here
        spend = campaign.metrics.get("today", {}).get("spend")
        if campaign.budget_mode == "BUDGET_MODE_DAY" and campaign.budget and spend is not None:
            pace = (spend / campaign.budget) / (15 / 24)
            if pace > 1.2 and spend < campaign.budget:
                expected[campaign.id] = pace
    assert list(expected) == ["1801100000000000001"]  # the sandbox's Summer Sale: 432.06 of 434 by 15:00
    firing = {entity_id for (rule, _, entity_id), state in alerts.items() if state.state == "firing"}
    assert firing == set(expected)
    told = capsys.readouterr().out  # the console channel's message shows the value read
    assert 'Firing: rule "overpacing"' in told and f"pace: {expected['1801100000000000001']:.2f}" in told


async def test_early_in_the_local_day_pace_is_no_data_not_a_wild_number(tmp_path, sandbox, clock):
    # 06:30 UTC on the 25th is 01:30 in New York: less than two hours of the day, so no projection at all
    clock.set(datetime(2026, 11, 25, 6, 30, tzinfo=UTC))
    rules = OVERPACING.replace("pace > 1.2 and budget_used < 1", "pace > 0")
    settings = load_settings(write_config(tmp_path, sandbox.base_url, rules, [ACME]))
    out = io.StringIO()
    assert await run_once(settings, out=out, clock=clock) == 0
    assert "firing" not in out.getvalue() and "0 findings" in out.getvalue()


async def test_once_warns_about_a_money_threshold_over_two_currencies_and_check_too(tmp_path, sandbox, clock, caplog):
    config = write_config(tmp_path, sandbox.base_url, EXPENSIVE_CLICKS, [ACME, KIWI])
    with caplog.at_level(logging.WARNING, logger="monitor.runtime"):
        await run_once(load_settings(config), out=io.StringIO(), clock=clock)
    warned = [r.getMessage() for r in caplog.records if "compares cpc with a fixed amount" in r.getMessage()]
    assert len(warned) == 1 and "2 currencies (NZD, USD)" in warned[0]
    # check calls no API: it knows the currencies from the advertisers the poll stored
    result = run_check(config)
    assert result.returncode == 0, result.stderr
    assert f"warning: rule 'expensive-clicks' ({tmp_path / 'rules' / 'a.toml'}:1) compares cpc" in result.stderr
    assert '([rule.match] currencies = ["NZD"] or ["USD"]) and add a copy' in result.stderr  # none picked for you
    (tmp_path / "rules" / "a.toml").write_text(EXPENSIVE_CLICKS + '[rule.match]\ncurrencies = ["USD"]\n')
    assert "compares cpc" not in run_check(config).stderr  # scoped to one currency: nothing to warn about


def test_check_without_a_database_says_nothing_about_currencies(tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9", EXPENSIVE_CLICKS, [ACME, KIWI])
    result = run_check(config)
    assert result.returncode == 0, result.stderr
    assert "compares cpc" not in result.stderr
    assert not (tmp_path / "m.db").exists()  # nothing created


def run_check(config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "check", "--config", str(config)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip


async def calls_of(tmp_path: Path, sandbox, when: str, clock) -> list[str]:
    """The endpoints one `once` calls for the advertiser with one campaign rule (the roster's bc/ calls left out,
    and answers throttled by the sandbox's rate limit: five `once` runs in a row exceed it; the call is made again)."""
    rules = f'[[rule]]\nname = "r"\nlevel = "campaign"\nwhen = "{when}"\nnotify = ["console"]\n'
    before = len(sandbox.arrivals)
    await run_once(
        load_settings(write_config(tmp_path, sandbox.base_url, rules, [ACME])), out=io.StringIO(), clock=clock
    )
    made = list(sandbox.arrivals)[before:]
    return sorted(a.path for a in made if not a.path.startswith("bc/") and a.code != THROTTLED)


async def test_the_new_names_cost_what_the_readme_says(tmp_path, sandbox, clock):
    """currency and day_elapsed cost no call; pace and projected_spend read today's spend of the level: one
    report (a page per 1,000 rows) unless a rule already reads that window there; projected_spend also the hourly
    history of its profile: DAYS_PER_POLL past days' reports per poll until 14 are stored, then one a day."""
    cost = {}
    for number, when in enumerate(
        ["budget > 0", "budget > 0 and day_elapsed > 0.5 and currency == 'USD'", "spend > 0", "pace > 1.2",
         "projected_spend > 1 and spend > 0"]
    ):  # fmt: skip
        (tmp_path / str(number)).mkdir()
        cost[when] = await calls_of(tmp_path / str(number), sandbox, when, clock)
    fields, clock_and_account, spend, pace, both = cost.values()
    assert fields == clock_and_account == ["advertiser/info/", "campaign/get/"]
    assert spend == pace == sorted([*fields, "report/integrated/get/"])
    assert both == sorted([*fields, *["report/integrated/get/"] * (1 + DAYS_PER_POLL)])
