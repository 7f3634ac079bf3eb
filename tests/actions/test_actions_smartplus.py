"""Upgraded Smart+ end to end: rules pause a Smart+ campaign and change its budget through the guards, and the
writes reach TikTok's smart_plus/* endpoints (the sandbox's request log and change log say so); a 40016 on such
a write is journaled as a throttle, not written."""

from __future__ import annotations

import pytest
from actions_factories import ADV, actions_in, outbox, rule, writes

from monitor.sandbox import Fault, SandboxSettings
from monitor.store.values import ActionStatus
from monitor.tiktok.transport import RetryPolicy

SMART = "1801100000000000004"  # campaign 3 of ADV: the last, so the Upgraded Smart+ one; daily budget, ENABLE


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    return SandboxSettings(
        campaigns_per_advertiser=4, adgroups_per_campaign=2, ads_per_adgroup=4, smart_plus_campaigns=1
    )


async def test_rules_pause_a_smart_plus_campaign_and_change_its_budget_through_smart_plus_endpoints(
    make_pipeline, sandbox, store, clock
):
    campaign = sandbox.world.find(SMART)
    assert campaign.automation_type == "UPGRADED_SMART_PLUS"
    before = campaign.budgets.at(clock.now().timestamp())
    grow = make_pipeline(rule("grow", "spend > 0", '{ type = "scale_budget", by = "+20%" }', ids=(SMART,)))
    [taken] = (await grow.poll(ADV)).actions
    assert taken.outcome.value == "done", taken.reason
    clock.advance(300)
    pause = make_pipeline(rule("stop", "spend > 0", '"pause"', ids=(SMART,)))
    [taken] = (await pause.poll(ADV)).actions
    assert taken.outcome.value == "done", taken.reason

    assert writes(sandbox, "smart_plus/campaign/update/") == 1
    assert writes(sandbox, "smart_plus/campaign/status/update/") == 1
    assert writes(sandbox, "campaign/update/") == writes(sandbox, "campaign/status/update/") == 0
    now = clock.now().timestamp()
    assert sandbox.world.operation_status(campaign, now) == "DISABLE"
    assert campaign.budgets.at(now) == pytest.approx(before * 1.2, abs=0.01)
    entries = await store.journal.history()
    assert {e.status for e in entries} == {ActionStatus.SUCCEEDED}
    logged = [(c.object_id, c.module, c.source, c.app_id) for c in sandbox.changelog.changes]
    assert logged == [
        (SMART, "BUDGET", "Marketing API", sandbox.settings.app_id),
        (SMART, "STATUS", "Marketing API", sandbox.settings.app_id),
    ]


async def test_a_smart_plus_ad_group_budget_goes_to_smart_plus_adgroup_budget_update(
    make_pipeline, sandbox, store, clock
):
    group = sandbox.world.find(SMART).adgroups[0]
    pipeline = make_pipeline(
        rule("more", "spend > 0", '{ type = "scale_budget", by = "+10%" }', level="adgroup", ids=(group.adgroup_id,))
    )
    [taken] = (await pipeline.poll(ADV)).actions
    assert taken.outcome.value == "done", taken.reason
    assert writes(sandbox, "smart_plus/adgroup/budget/update/") == 1
    assert writes(sandbox, "adgroup/budget/update/") == 0


async def test_a_40016_on_a_smart_plus_write_is_journaled_as_a_throttle_not_written(
    make_pipeline, make_client, sandbox, store, clock
):
    sandbox.faults.add(Fault(kind="api_code", code=40016, path="smart_plus/campaign/status/update/", count=5))
    client = make_client(retry=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.05))
    pipeline = make_pipeline(rule("stop", "spend > 0", '"pause"', ids=(SMART,)), client=client)
    [taken] = (await pipeline.poll(ADV)).actions
    assert taken.outcome.value == "failed"
    [entry] = await store.journal.history()
    assert entry.status is ActionStatus.FAILED
    assert entry.error is not None
    assert "code 40016" in entry.error and "the app's limit on this endpoint" in entry.error
    assert "not written" in entry.error and "may or may not" not in entry.error
    assert writes(sandbox, "smart_plus/campaign/status/update/") == 2  # the first try and one retry, no more
    [action] = actions_in(await outbox(store, clock.now()), "stop")  # what the rule's channel is told
    assert action["outcome"] == "failed" and action["reason"] == entry.error
    assert sandbox.world.operation_status(sandbox.world.find(SMART), clock.now().timestamp()) == "ENABLE"


async def test_a_rule_pauses_a_smart_plus_ad_by_its_smart_plus_ad_id(make_pipeline, sandbox, store, clock):
    group = sandbox.world.find(SMART).adgroups[0]
    ad = sandbox.world.smart_plus.of_adgroup(group)
    pipeline = make_pipeline(rule("stop-ad", "spend > 0", '"pause"', level="ad", ids=(ad.smart_plus_ad_id,)))
    [taken] = (await pipeline.poll(ADV)).actions
    assert (taken.planned.entity_id, taken.outcome.value) == (ad.smart_plus_ad_id, "done")
    assert writes(sandbox, "smart_plus/ad/status/update/") == 1 and writes(sandbox, "ad/status/update/") == 0
    now = clock.now().timestamp()
    assert {sandbox.world.operation_status(creative, now) for creative in group.ads} == {"DISABLE"}
    clock.advance(300)
    assert (await pipeline.poll(ADV)).actions == ()  # the next poll reads it paused: nothing more to do
