"""Reading the Change Log for one poll against the sandbox: who changed what, and a bounded wait that gives no
data instead of failing (``monitor.whochanged``)."""

from __future__ import annotations

import time
from datetime import timedelta

from monitor.domain import Level
from monitor.sandbox.changelog import apply_change
from monitor.sandbox.faults import Fault
from monitor.whochanged import who_changed

ADV = "7000000000000000001"
CAMPAIGN = "1801100000000000001"
KEY = (Level.CAMPAIGN, CAMPAIGN)
WANTED = {KEY: frozenset({"operation_status"})}


async def test_a_persons_change_is_read_from_the_change_log(sandbox, make_client, clock):
    since = clock.now()
    clock.advance(60)
    apply_change(sandbox, {"entity_id": CAMPAIGN, "by": "person", "operation_status": "DISABLE"})
    clock.advance(60)
    who = await who_changed(make_client(), ADV, WANTED, since, clock.now())
    assert (who.by, who.error) == ({KEY: "a person"}, None)


async def test_nothing_wanted_costs_no_call(sandbox, make_client, clock):
    before = len(sandbox.arrivals)
    assert (await who_changed(make_client(), ADV, {}, clock.now() - timedelta(minutes=5), clock.now())).by == {}
    assert len(sandbox.arrivals) == before


async def test_a_task_not_ready_in_time_gives_no_data_and_says_why(sandbox, make_client, clock):
    sandbox.faults.add(Fault(kind="slow", delay=5.0, count=5, path="changelog/task/check/"))
    started = time.monotonic()
    who = await who_changed(
        make_client(timeout=10.0), ADV, WANTED, clock.now() - timedelta(minutes=5), clock.now(), max_wait=1.5
    )
    assert time.monotonic() - started < 4.0
    assert who.by == {} and who.error is not None and "change log not read" in who.error
