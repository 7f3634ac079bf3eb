"""Budgets in a currency whose minimum the monitor does not know (NZD: not among the documented ratios): the
monitor sends the change and TikTok (here the sandbox, which refuses budgets below its own minimum of 50 NZD for
a campaign) decides; the journal records TikTok's refusal in its own words. End to end through Pipeline."""

from __future__ import annotations

from datetime import timedelta

from actions_factories import ops, rule, writes

from monitor.actions import GuardSettings
from monitor.store.values import ActionStatus

KIWI = "7000000000000000002"  # Kiwi Coffee Roasters, NZD, Pacific/Auckland
KIWI_CAMPAIGN = "1802100000000000001"  # daily budget 1,250 NZD
#: T0 + 15 h 5 min is 00:05 in Auckland: today's spend is still tiny, so 105 % of it is no obstacle.
AFTER_MIDNIGHT = timedelta(hours=15, minutes=5).total_seconds()
ANY_CHANGE = GuardSettings(change_percent=None, change_amount=1_000_000.0)


def set_budget(to: int) -> str:
    return rule("cut", "spend >= 0", f'{{ type = "set_budget", to = {to} }}', ids=(KIWI_CAMPAIGN,))


async def test_an_unknown_minimum_leaves_the_decision_to_tiktok_which_refuses(make_pipeline, sandbox, store, clock):
    clock.advance(AFTER_MIDNIGHT)
    [taken] = (await make_pipeline(set_budget(30), ANY_CHANGE).poll(KIWI)).actions
    assert writes(sandbox, "campaign/update/") == 1  # sent, not refused by the monitor
    assert taken.outcome.value == "failed"
    [entry] = await store.journal.history()
    assert entry.status is ActionStatus.FAILED and entry.request_id
    assert entry.error == (
        "TikTok refused the budget: code 40002: budget: The daily budget of a campaign must be at least 50.00 NZD."
    )
    assert "TikTok decides the minimum campaign budget in NZD" in entry.intent.reason
    [alert] = await ops(store, clock.now(), "action_failed")
    assert "TikTok refused the budget: code 40002" in alert["detail"]
    assert sandbox.world.find(KIWI_CAMPAIGN).budgets.at(clock.now().timestamp()) == 1250.0


async def test_an_unknown_minimum_leaves_the_decision_to_tiktok_which_accepts(make_pipeline, sandbox, store, clock):
    clock.advance(AFTER_MIDNIGHT)
    [taken] = (await make_pipeline(set_budget(60), ANY_CHANGE).poll(KIWI)).actions
    assert taken.outcome.value == "done", taken.reason
    [entry] = await store.journal.history()
    assert entry.status is ActionStatus.SUCCEEDED and entry.error is None
    assert sandbox.world.find(KIWI_CAMPAIGN).budgets.at(clock.now().timestamp()) == 60.0


async def test_a_configured_minimum_is_checked_before_sending(make_pipeline, sandbox, store, clock):
    clock.advance(AFTER_MIDNIGHT)
    settings = GuardSettings(change_percent=None, change_amount=1_000_000.0, min_budget={"NZD": (50.0, 20.0)})
    [taken] = (await make_pipeline(set_budget(30), settings).poll(KIWI)).actions
    assert taken.outcome.value == "skipped"
    assert "30.00 NZD is below TikTok's minimum campaign budget of 50.00 NZD" in taken.reason
    assert writes(sandbox, "campaign/update/") == 0
