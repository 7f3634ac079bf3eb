"""A poll's alert states, silences and holds, read in one transaction (issue 18), are what the three reads of
their own give: the advertiser's alert states, the silences active at the time, the advertiser's live holds."""

from __future__ import annotations

from datetime import timedelta

from monitor.domain import AlertState, Hold, Level, Matcher, Silence
from monitor.store import Store

from .conftest import ADV, T0, state, statement_log

HOUR = timedelta(hours=1)
OTHER = "7000000000000000002"


async def test_poll_reads_are_the_three_reads(store: Store) -> None:
    for advertiser in (ADV, OTHER):
        async with store.poll(advertiser, T0) as poll:
            poll.save([state("1", advertiser_id=advertiser)])
            poll.save_alert_states(
                [
                    AlertState("spend", advertiser, Level.AD, "1", "firing", T0),
                    AlertState("cpc", advertiser, Level.AD, "1", "pending", T0),
                ]
            )
            poll.save_holds(
                [
                    Hold(advertiser, (Level.AD, "1"), "operation_status", T0, T0 + 24 * HOUR, None, "ENABLE"),
                    Hold(advertiser, (Level.AD, "1"), "budget", T0, T0 + HOUR, None, 12.5),
                ]
            )
    for start, hours in ((-1, 2), (1, 2), (-3, 1)):  # active, pending, ended (at T0 + 30 min)
        matchers = (Matcher("rule", "spend"),)
        await store.silences.add(Silence(matchers, T0 + start * HOUR, T0 + (start + hours) * HOUR, "alice"), T0)
    for now in (T0 + timedelta(minutes=30), T0 + 2 * HOUR):
        with statement_log(store.engine) as log:
            reads = await store.poll_reads(ADV, now)
        assert dict(reads.alert_states) == await store.alerts.load(ADV)
        assert list(reads.silences) == await store.silences.active(now)
        assert list(reads.holds) == await store.holds.active(ADV, now)
        assert len(log.statements) == 3
    assert len((await store.poll_reads(ADV, T0 + timedelta(minutes=30))).holds) == 2
    assert [h.field for h in (await store.poll_reads(ADV, T0 + 2 * HOUR)).holds] == ["operation_status"]
    assert len((await store.poll_reads(ADV, T0 + timedelta(minutes=30))).silences) == 1
