"""A rule's [rule.match] scopes what a poll fetches (issue 19): a rule that leaves an advertiser out, by id or
by currency, costs that advertiser's polls no report, no hourly history and no Change Log call."""

from __future__ import annotations

import io
from collections import Counter

import aiohttp

from monitor.config import load_settings
from monitor.domain import Level
from monitor.fetch_baseline import DAYS_PER_POLL
from monitor.once import run_once
from tests.test_baseline_e2e import HISTORY, NOW, UNDER
from tests.test_pacing_e2e import ACME, KIWI, THROTTLED, write_config


async def test_a_rule_matched_to_one_advertiser_costs_the_others_no_call(tmp_path, sandbox, clock):
    # the baseline rule applies to Acme only ([rule.match]): Kiwi's poll fetches neither its reports nor history
    rules = UNDER + f'[rule.match]\nadvertiser_ids = ["{ACME}"]\n'
    clock.set(NOW)
    settings = load_settings(write_config(tmp_path, sandbox.base_url, rules, [ACME, KIWI]))
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    reports = Counter(a.advertiser_id for a in list(sandbox.arrivals) if a.path == HISTORY and a.code != THROTTLED)
    assert reports == {ACME: 1 + DAYS_PER_POLL}  # today's report + two past Tuesdays, for Acme only


async def test_a_rule_matched_to_one_currency_costs_the_others_no_call(tmp_path, sandbox, clock):
    rules = UNDER + '[rule.match]\ncurrencies = ["NZD"]\n'  # Kiwi's currency; Acme's is USD
    clock.set(NOW)
    settings = load_settings(write_config(tmp_path, sandbox.base_url, rules, [ACME, KIWI]))
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    reports = Counter(a.advertiser_id for a in list(sandbox.arrivals) if a.path == HISTORY and a.code != THROTTLED)
    assert reports == {KIWI: 1 + DAYS_PER_POLL}


async def test_a_changed_by_rule_matched_to_one_advertiser_reads_no_change_log_for_the_others(
    tmp_path, sandbox, clock, make_client
):
    # both accounts' campaigns change between two polls; only Acme's rule reads changed_by: Kiwi's poll asks nothing
    client = make_client()
    campaigns = {
        adv: [c.id for c in await client.entities(Level.CAMPAIGN, adv, fields=None) if c.operation_status == "ENABLE"]
        for adv in (ACME, KIWI)
    }
    rules = (
        '[[rule]]\nname = "by-hand"\nlevel = "campaign"\nwhen = "changed_by == \'a person\'"\nnotify = ["console"]\n'
        f'[rule.match]\nadvertiser_ids = ["{ACME}"]\n'
        '[[rule]]\nname = "any"\nlevel = "campaign"\nwhen = "budget > 10000000"\nnotify = ["console"]\n'
    )  # "any" applies to both: Kiwi's campaigns are polled and their change is seen
    settings = load_settings(write_config(tmp_path, sandbox.base_url, rules, [ACME, KIWI]))
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    clock.advance(5 * 60)
    async with aiohttp.ClientSession() as http:
        for ids in campaigns.values():
            body = {"entity_id": ids[0], "operation_status": "DISABLE"}
            async with http.post(f"{sandbox.base_url}/sandbox/changes", json=body) as answer:
                assert answer.status == 200, await answer.text()
    clock.advance(5 * 60)
    before = len(sandbox.arrivals)
    assert await run_once(settings, out=io.StringIO(), clock=clock) == 0
    asked = Counter(a.advertiser_id for a in list(sandbox.arrivals)[before:] if a.path.startswith("changelog/"))
    assert asked[ACME] >= 3 and asked[KIWI] == 0, asked  # create, check, download for Acme only
