"""``changed_by`` end to end against the sandbox: the monitor pauses a campaign through the API, a person (or
TikTok) switches it back on through the sandbox's admin endpoint, and the next polls read TikTok's Change Log
(changelog/task/create, check, download) to say who: in rules, in messages and in the manual-override hold."""

from __future__ import annotations

import aiohttp
import pytest
from actions_factories import ADV, CAMPAIGN, outbox, writes

from monitor.domain import Level
from monitor.sandbox.faults import Fault
from monitor.store.replay import snapshots

CREATE = "changelog/task/create/"

#: Pauses the campaign while it spends and runs; two notify-only rules say who changed its status.
RULES = f"""
[[rule]]
name = "pause-spender"
level = "campaign"
when = "spend > 300 and operation_status == 'ENABLE'"
notify = ["slack"]
action = "pause"
match = {{ ids = ["{CAMPAIGN}"] }}

[[rule]]
name = "paused-by-monitor"
level = "campaign"
when = "changed(operation_status) and changed_by == 'monitor'"
notify = ["slack"]

[[rule]]
name = "changed-by-a-person"
level = "campaign"
when = "changed(operation_status) and changed_by == 'a person'"
notify = ["slack"]
"""


def fired(summary, rule: str) -> bool:
    return f"firing {rule} campaign {CAMPAIGN}" in summary.transitions


async def change(http: aiohttp.ClientSession, sandbox, body: dict) -> None:
    """A change made outside the API, through the sandbox's admin endpoint (``POST /sandbox/changes``)."""
    async with http.post(f"{sandbox.base_url}/sandbox/changes", json=body) as response:
        assert response.status == 200, await response.text()


async def paused_by_the_monitor(pipeline, sandbox, clock) -> None:
    """Poll 1 pauses the campaign; poll 2 sees the change and reads the Change Log once: the monitor did it."""
    [paused] = (await pipeline.poll(ADV)).actions
    assert paused.outcome.value == "done"
    assert writes(sandbox, CREATE) == 0  # nothing changed between polls yet: no Change Log call
    clock.advance(300)
    seen = await pipeline.poll(ADV)
    assert writes(sandbox, CREATE) == 1
    assert fired(seen, "paused-by-monitor") and not fired(seen, "changed-by-a-person")


async def test_changed_by_says_monitor_for_its_own_write_and_a_person_for_the_admin_endpoints_change(
    make_pipeline, sandbox, store, clock, http
):
    pipeline = make_pipeline(RULES)
    start = clock.now()
    await paused_by_the_monitor(pipeline, sandbox, clock)
    [message] = [m for m in await outbox(store, clock.now()) if m.get("rule", {}).get("name") == "paused-by-monitor"]
    values = {v["name"]: v["value"] for v in message["entities"][0]["values"]}
    assert values["changed_by"] == "monitor"

    clock.advance(300)
    await pipeline.poll(ADV)  # nothing changed: no second task
    assert writes(sandbox, CREATE) == 1

    await change(http, sandbox, {"entity_id": CAMPAIGN, "by": "person", "operation_status": "ENABLE"})
    clock.advance(300)
    seen = await pipeline.poll(ADV)
    assert writes(sandbox, CREATE) == 2
    assert fired(seen, "changed-by-a-person") and not fired(seen, "paused-by-monitor")
    [hold] = await store.holds.active(ADV, clock.now())
    assert hold.by == "a person"
    [again] = seen.actions  # the rule fires again and yields to the person
    assert again.outcome.value == "skipped" and again.reason.startswith("manual override: a person set it to ENABLE")
    assert writes(sandbox, "campaign/status/update/") == 1
    # kept with each poll: replaying the history (what backtest does) gives the campaign what each poll's rules saw
    replayed = [s.entities[(Level.CAMPAIGN, CAMPAIGN)].changed_by async for s, _ in snapshots(store.engine, ADV, start)]
    assert replayed == [None, "monitor", None, "a person"]


async def test_tiktok_switching_it_back_on_makes_no_hold_and_the_rule_acts_again(
    make_pipeline, sandbox, store, clock, http
):
    pipeline = make_pipeline(RULES)
    await paused_by_the_monitor(pipeline, sandbox, clock)
    clock.advance(300)
    await pipeline.poll(ADV)  # the pause rule's alert resolves
    await change(http, sandbox, {"entity_id": CAMPAIGN, "by": "tiktok", "operation_status": "ENABLE"})
    clock.advance(300)
    seen = await pipeline.poll(ADV)
    assert not fired(seen, "changed-by-a-person")
    assert await store.holds.active(ADV, clock.now()) == []
    [again] = seen.actions
    assert again.outcome.value == "done"
    assert writes(sandbox, "campaign/status/update/") == 2


@pytest.mark.parametrize("fault", [Fault(kind="api_code", code=40002, count=1, path=CREATE)])
async def test_a_change_log_that_fails_leaves_changed_by_without_data_and_the_poll_goes_on(
    make_pipeline, sandbox, store, clock, http, fault
):
    pipeline = make_pipeline(RULES)
    [paused] = (await pipeline.poll(ADV)).actions
    assert paused.outcome.value == "done"
    sandbox.faults.add(fault)
    clock.advance(300)
    seen = await pipeline.poll(ADV)  # ran to the end: the summary is there
    assert writes(sandbox, CREATE) == 1
    assert not fired(seen, "paused-by-monitor")  # no data: the rule cannot decide
    await change(http, sandbox, {"entity_id": CAMPAIGN, "by": "person", "operation_status": "ENABLE"})
    clock.advance(300)
    await pipeline.poll(ADV)
    [hold] = await store.holds.active(ADV, clock.now())
    assert hold.by == "a person"


async def test_no_change_log_call_when_no_rule_reads_changed_by_or_acts(make_pipeline, sandbox, clock, http):
    pipeline = make_pipeline(
        '[[rule]]\nname = "spender"\nlevel = "campaign"\nwhen = "spend > 300"\nnotify = ["slack"]\n'
    )
    await pipeline.poll(ADV)
    await change(http, sandbox, {"entity_id": CAMPAIGN, "by": "person", "operation_status": "DISABLE"})
    clock.advance(300)
    await pipeline.poll(ADV)
    assert writes(sandbox, CREATE) == 0
