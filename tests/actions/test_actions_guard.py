"""The guard rails, table-tested: planned actions, entity states, journal facts, settings and ``now`` in;
go / dry run / skip with a reason out. Pure: no sandbox, no database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.actions import GuardContext, GuardSettings, Planned, Verdict, decide
from monitor.actions.facts import BreakerFacts, Facts, collect, uncommitted
from monitor.actions.override import revert_hold
from monitor.domain import BreakerEpisode, EntityState, Hold, Level
from monitor.domain.breaker import counted_from
from monitor.rules.model import Action
from monitor.store.values import ActionIntent, ActionStatus, JournalEntry

ADV = "7000000000000000001"
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 15:00 in New York
DAY = "BUDGET_MODE_DAY"
TOTAL = "BUDGET_MODE_TOTAL"


def entity(
    entity_id: str = "c1",
    level: Level = Level.CAMPAIGN,
    status: str | None = "ENABLE",
    budget: float | None = 100.0,
    mode: str | None = DAY,
    spend: float | None = 40.0,
    lifetime: float | None = 900.0,
) -> EntityState:
    metrics: dict[str, dict[str, Any]] = {"today": {"spend": spend}, "lifetime": {"spend": lifetime}}
    return EntityState(
        level=level,
        id=entity_id,
        advertiser_id=ADV,
        operation_status=status,
        budget=budget,
        budget_mode=mode,
        metrics=metrics,
    )


def plan(kind: str = "pause", state: EntityState | None = None, rule: str = "r1", **kw: Any) -> Planned:
    state = state if state is not None else entity()
    action = kw.pop("action", None)
    if action is None and kind == "scale_budget":
        action = Action("scale_budget", by=20.0)
    if action is None and kind == "set_budget":
        action = Action("set_budget", to=150.0)
    entity_id = kw.pop("entity_id", state.id if state else "c1")
    level = kw.pop("level", state.level if state else Level.CAMPAIGN)
    return Planned(kind, level, entity_id, state, "rule said so", rule=rule, action=action, **kw)


def entry(
    entry_id: int,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
    *,
    at: datetime = NOW - timedelta(hours=1),
    status: ActionStatus = ActionStatus.SUCCEEDED,
    entity_id: str = "c1",
    reverts: int | None = None,
    dry_run: bool = False,
) -> JournalEntry:
    intent = ActionIntent(
        ADV, Level.CAMPAIGN, entity_id, "x", "why", before=before or {}, after=after, reverts=reverts, dry_run=dry_run
    )
    return JournalEntry(entry_id, at, intent, status, None if status is ActionStatus.PENDING else at, None, None)


def ctx(
    *,
    now: datetime = NOW,
    currency: str | None = "USD",
    facts: Facts | None = None,
    entries: tuple[JournalEntry, ...] = (),
    holds: tuple[Hold, ...] = (),
    read_only: str | None = None,
    **settings: Any,
) -> GuardContext:
    guard = GuardSettings(**settings)
    facts = facts or collect(entries, holds, now, NY)
    return GuardContext(now, NY, currency, guard, facts, read_only)


def one(planned: Planned, context: GuardContext | None = None) -> tuple[Verdict, str, dict[str, Any]]:
    [decision] = decide([planned], context or ctx()).decisions
    return decision.verdict, decision.reason, dict(decision.after)


# --- status --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "verdict", "reason"),
    [
        ("pause", "ENABLE", Verdict.GO, "operation_status ENABLE -> DISABLE"),
        ("pause", "DISABLE", Verdict.SKIP, "already paused"),
        ("enable", "ENABLE", Verdict.SKIP, "already enabled"),
        ("enable", "DISABLE", Verdict.GO, "operation_status DISABLE -> ENABLE"),
        ("pause", "DELETE", Verdict.SKIP, "operation_status is DELETE"),
        ("pause", None, Verdict.SKIP, "operation_status is unknown"),
    ],
)
def test_idempotence_of_status_writes(kind: str, status: str | None, verdict: Verdict, reason: str) -> None:
    got, why, _ = one(plan(kind, entity(status=status)))
    assert got is verdict and reason in why


def test_an_entity_not_returned_by_the_poll_is_not_written() -> None:
    planned = Planned("pause", Level.CAMPAIGN, "gone", None, "why", rule="r1")
    assert one(planned)[:2] == (Verdict.SKIP, "campaign gone was not returned by the API at this poll")


# --- kill switch, dry runs, read-only advertisers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("planned", "context", "why"),
    [
        (plan(dry_run=True), ctx(), "the rule is a dry run"),
        (plan(), ctx(enabled=False), "actions are disabled ([actions] enabled = false)"),
        (plan(), ctx(read_only="advertiser is analyst-only"), "advertiser is analyst-only"),
        (plan(reverts=7, dry_run=True), ctx(), "--dry-run"),
    ],
)
def test_the_kill_switch_and_dry_runs_say_what_would_be_done(planned: Planned, context: GuardContext, why: str) -> None:
    verdict, reason, after = one(planned, context)
    assert verdict is Verdict.DRY_RUN
    assert reason == f"would do: operation_status ENABLE -> DISABLE ({why})"
    assert after == {"operation_status": "DISABLE"}


def test_a_dry_run_still_reports_what_a_guard_would_stop() -> None:
    verdict, reason, _ = one(plan(state=entity(status="DISABLE"), dry_run=True), ctx(enabled=False))
    assert (verdict, reason) == (Verdict.SKIP, "already paused (operation_status DISABLE)")


# --- circuit breaker (fleet-wide; the facts come from the store) ---------------------------------------------


def breaker_ctx(writes: int = 0, episode: BreakerEpisode | None = None, **settings: Any) -> GuardContext:
    return dataclasses.replace(ctx(**settings), breaker=BreakerFacts(NOW, writes, episode))


def test_breaker_lets_writes_through_up_to_max_writes_in_the_window() -> None:
    plans = [plan(state=entity(f"c{i}")) for i in range(3)]
    result = decide(plans, breaker_ctx(writes=7, max_writes=10))
    assert [d.verdict for d in result.decisions] == [Verdict.GO] * 3
    assert (result.held, result.opens) == ((), None)


def test_breaker_opens_when_a_poll_would_pass_max_writes_and_writes_none_of_it() -> None:
    plans = [plan(state=entity(f"c{i}")) for i in range(3)]
    result = decide(plans, breaker_ctx(writes=8, max_writes=10, window=timedelta(minutes=5)))
    assert {d.verdict for d in result.decisions} == {Verdict.SKIP}
    assert result.held == result.decisions
    assert result.opens == "8 writes within 5m and 3 more asked, more than max_writes = 10"
    reason = result.decisions[0].reason
    assert reason.startswith("circuit breaker open since 2026-11-24 20:00 UTC: 8 writes within 5m and 3 more asked")
    assert "resume with tiktok-monitor actions resume" in reason
    assert "closes by itself at 2026-11-24 21:00 UTC: breaker_reset = 1h" in reason
    assert result.decisions[0].before == {"operation_status": "ENABLE"}  # what it would have done, kept


def test_an_open_breaker_holds_every_write_but_not_reverts_dry_runs_or_skips() -> None:
    episode = BreakerEpisode(NOW - timedelta(minutes=10), "10 writes within 5m and 1 more asked, ...")
    plans = [
        plan(state=entity("c1")),
        plan(state=entity("c2"), dry_run=True),
        plan("enable", state=entity("c3", status="DISABLE"), reverts=12),
        plan(state=entity("c4", status="DISABLE")),
    ]
    result = decide(plans, breaker_ctx(writes=0, episode=episode))
    assert [d.verdict for d in result.decisions] == [Verdict.SKIP, Verdict.DRY_RUN, Verdict.GO, Verdict.SKIP]
    assert result.held == (result.decisions[0],) and result.opens is None
    assert result.decisions[0].reason.startswith("circuit breaker open since 2026-11-24 19:50 UTC: 10 writes")
    assert result.decisions[3].reason == "already paused (operation_status DISABLE)"


def test_without_breaker_facts_there_is_no_limit() -> None:
    plans = [plan(state=entity(f"c{i}")) for i in range(30)]
    assert {d.verdict for d in decide(plans, ctx(max_writes=1)).decisions} == {Verdict.GO}


def test_an_episode_closes_by_itself_after_breaker_reset_and_the_count_restarts_when_it_closed() -> None:
    opened = BreakerEpisode(NOW, "why")
    assert opened.as_of(NOW + timedelta(minutes=59), timedelta(hours=1)).is_open
    closed = opened.as_of(NOW + timedelta(hours=1), timedelta(hours=1))
    assert (closed.is_open, closed.closed_at, closed.closed_by) == (False, NOW + timedelta(hours=1), "breaker_reset")
    later = NOW + timedelta(hours=1, minutes=2)
    assert counted_from(closed, later, timedelta(minutes=5)) == closed.closed_at  # a resume starts afresh
    assert counted_from(closed, later + timedelta(hours=1), timedelta(minutes=5)) == later + timedelta(minutes=55)
    assert counted_from(None, NOW, timedelta(minutes=5)) == NOW - timedelta(minutes=5)


# --- conflicting rules -----------------------------------------------------------------------------------------


def test_conflicting_rules_neither_acts() -> None:
    result = decide([plan("pause", rule="stop"), plan("enable", rule="go")], ctx())
    assert [d.verdict for d in result.decisions] == [Verdict.SKIP, Verdict.SKIP]
    assert (
        "conflicting rules on campaign c1: rule stop asks pause (DISABLE), rule go asks enable (ENABLE)"
        in (result.problems[0])
    )


def test_the_same_ask_twice_is_done_once_and_a_dry_run_does_not_block_a_live_rule() -> None:
    result = decide([plan(rule="a"), plan(rule="b"), plan("enable", rule="c", dry_run=True)], ctx())
    assert [d.verdict for d in result.decisions] == [Verdict.GO, Verdict.SKIP, Verdict.SKIP]
    assert result.decisions[1].reason == "rule a makes this change in this cycle"
    assert result.decisions[2].reason == "conflicts with rule a, which acts"
    assert result.problems == ()


def test_two_different_budgets_for_one_entity_conflict() -> None:
    result = decide([plan("scale_budget", rule="a"), plan("set_budget", rule="b")], ctx())
    assert [d.verdict for d in result.decisions] == [Verdict.SKIP, Verdict.SKIP]
    assert "rule a asks scale_budget (120), rule b asks set_budget (150)" in result.problems[0]


# --- pending writes and manual overrides -----------------------------------------------------------------------


def test_a_pending_write_of_the_field_blocks_it() -> None:
    pending = entry(5, {"operation_status": "DISABLE"}, status=ActionStatus.PENDING)
    verdict, reason, _ = one(plan(), ctx(entries=(pending,)))
    assert (verdict, reason) == (Verdict.SKIP, "journal #5 (x) on it has no known outcome yet")
    assert one(plan("scale_budget"), ctx(entries=(pending,)))[0] is Verdict.GO  # another field


def test_the_rules_write_by_a_poll_that_did_not_commit_is_not_made_again() -> None:
    intent = ActionIntent(ADV, Level.CAMPAIGN, "c1", "scale_budget", "why", {"budget": 100.0}, {"budget": 120.0},
                          rule="r1", poll_id=8)  # fmt: skip
    scaled = JournalEntry(5, NOW - timedelta(minutes=5), intent, ActionStatus.SUCCEEDED, NOW, "req", None)
    assert uncommitted([scaled], 7, 9) == {("r1", (Level.CAMPAIGN, "c1"), "budget"): scaled}  # poll 8 did not commit
    assert uncommitted([scaled], 8, 9) == {}  # poll 8 committed: the rule's next firing is a new one
    facts = dataclasses.replace(collect([scaled], [], NOW, NY), uncommitted=uncommitted([scaled], 7, 9))
    verdict, reason, _ = one(plan("scale_budget"), ctx(facts=facts))
    assert (verdict, reason) == (Verdict.SKIP, "done already (journal #5) by poll #8, which did not commit")
    assert one(plan("scale_budget", rule="r2"), ctx(facts=facts))[0] is Verdict.GO  # another rule's own firing
    assert one(plan("pause"), ctx(facts=facts))[0] is Verdict.GO  # another field


HOLD = Hold(ADV, (Level.CAMPAIGN, "c1"), "operation_status", NOW - timedelta(hours=2), NOW + timedelta(hours=22), 3,
            "ENABLE", "a person")  # fmt: skip


@pytest.mark.parametrize(
    ("planned", "now", "verdict"),
    [
        (plan(), NOW, Verdict.SKIP),  # a person re-enabled what the monitor paused: not paused again
        (plan(), NOW + timedelta(hours=22), Verdict.GO),  # the hold is over
        (plan("scale_budget"), NOW, Verdict.GO),  # the hold is on the status only
        (plan(reverts=3), NOW, Verdict.GO),  # a revert is a person's decision: holds do not apply
    ],
)
def test_manual_override_hold(planned: Planned, now: datetime, verdict: Verdict) -> None:
    got, reason, _ = one(planned, ctx(now=now, holds=(HOLD,)))
    assert got is verdict
    if verdict is Verdict.SKIP:
        assert reason.startswith("manual override: a person set it to ENABLE at 2026-11-24 18:00 UTC after journal #3")
        assert "until 2026-11-25 18:00 UTC" in reason


def test_a_revert_holds_off_rules_for_override_hold() -> None:
    undo = entry(9, {"operation_status": "ENABLE"}, {"operation_status": "DISABLE"}, reverts=4)

    def held(override_hold: timedelta) -> tuple[Hold, ...]:  # the hold the revert stored
        return (revert_hold(undo, override_hold),)

    verdict, reason, _ = one(plan(), ctx(entries=(undo,), holds=held(timedelta(hours=24))))
    assert verdict is Verdict.SKIP and "revert #9 set it to ENABLE" in reason
    assert (
        one(plan(), ctx(entries=(undo,), holds=held(timedelta(minutes=30)), override_hold=timedelta(minutes=30)))[0]
        is Verdict.GO
    )


# --- budgets ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("planned", "context", "verdict", "reason", "budget"),
    [
        (plan("scale_budget"), ctx(), Verdict.GO, "budget 100.00 USD -> 120.00 USD", 120.0),
        (plan("set_budget"), ctx(), Verdict.GO, "budget 100.00 USD -> 150.00 USD", 150.0),
        (plan("set_budget", action=Action("set_budget", to=100.0)), ctx(), Verdict.SKIP, "budget is already", 100.0),
        # TikTok's floors are not rounded up to
        (
            plan("set_budget", state=entity(budget=60.0), action=Action("set_budget", to=45.0)),
            ctx(),
            Verdict.SKIP,
            "45.00 USD is below TikTok's minimum campaign budget of 50.00 USD",
            45.0,
        ),
        (
            plan("set_budget", state=entity(spend=60.0), action=Action("set_budget", to=60.0)),
            ctx(),
            Verdict.SKIP,
            "below 105 % of what it spent today (60.00 USD; at least 63.00 USD)",
            60.0,
        ),
        (plan("scale_budget", state=entity(spend=None)), ctx(), Verdict.SKIP, "today's spend is unknown", 120.0),
        # lifetime budgets compare with lifetime spend
        (
            plan("set_budget", state=entity(mode=TOTAL, budget=2000.0, lifetime=1500.0)),
            ctx(),
            Verdict.SKIP,
            "what it spent over its lifetime (1,500.00 USD",
            1000.0,  # trimmed to half the day's budget first
        ),
        (plan("scale_budget", state=entity(mode="BUDGET_MODE_INFINITE")), ctx(), Verdict.SKIP, "no budget", None),
        (plan("scale_budget", state=entity(level=Level.AD)), ctx(), Verdict.SKIP, "ads have no budget", None),
        # no known minimum: the write goes, and TikTok's answer decides
        (
            plan("scale_budget"),
            ctx(currency="NZD"),
            Verdict.GO,
            "TikTok decides the minimum campaign budget in NZD",
            120.0,
        ),
        (plan("scale_budget"), ctx(now=datetime(2026, 11, 25, 4, 56, tzinfo=UTC)), Verdict.SKIP, "23:55", 120.0),
        (plan("scale_budget"), ctx(now=datetime(2026, 11, 25, 5, 0, tzinfo=UTC)), Verdict.GO, "-> 120.00", 120.0),
    ],
)
def test_budget_rules(
    planned: Planned, context: GuardContext, verdict: Verdict, reason: str, budget: float | None
) -> None:
    got, why, after = one(planned, context)
    assert got is verdict, why
    assert reason in why
    assert after.get("budget") == budget


@pytest.mark.parametrize(
    ("currency", "budget", "to", "verdict", "shown"),
    [
        ("JPY", 8000.0, 4999.4, Verdict.SKIP, "4,999 JPY is below TikTok's minimum campaign budget of 5,000 JPY"),
        ("JPY", 8000.0, 9000.4, Verdict.GO, "9,000 JPY"),
        ("KRW", 80000.0, 49999.0, Verdict.SKIP, "minimum campaign budget of 50,000 KRW"),
        ("IDR", 6e5, 499_999.0, Verdict.SKIP, "minimum campaign budget of 500,000 IDR"),
        ("EUR", 80.0, 50.0, Verdict.GO, "50.00 EUR"),
    ],
)
def test_minimum_budgets_per_currency(currency: str, budget: float, to: float, verdict: Verdict, shown: str) -> None:
    state = entity(budget=budget, spend=0.0)
    got, why, _ = one(plan("set_budget", state, action=Action("set_budget", to=to)), ctx(currency=currency))
    assert got is verdict and shown in why


def test_a_budget_in_a_currency_without_minor_units_is_sent_whole_even_when_tiktok_decides_the_minimum() -> None:
    """VND has no minor units: a computed 51,234.6 VND goes out as 51,235, as people see it in messages."""
    state = entity(budget=100_000.0, spend=0.0)
    got, why, after = one(plan("set_budget", state, action=Action("set_budget", to=51_234.6)), ctx(currency="VND"))
    assert got is Verdict.GO and after["budget"] == 51_235.0 and "51,235 VND" in why


def test_a_currency_without_a_known_minimum_goes_and_tiktok_decides() -> None:
    """BRL is not in the documentation's ratios: the monitor sends even a tiny budget (TikTok refuses it or not);
    105 % of spend is still checked, and no maximum is assumed."""
    state = entity(budget=100.0, spend=0.0)
    got, why, after = one(plan("set_budget", state, action=Action("set_budget", to=51.0)), ctx(currency="BRL"))
    assert got is Verdict.GO and after["budget"] == 51.0
    assert why == (
        "budget 100.00 BRL -> 51.00 BRL; TikTok decides the minimum campaign budget in BRL (not known to the "
        "monitor; [actions] min_budget can set it)"
    )
    spent = entity(budget=100.0, spend=80.0)
    got, why, _ = one(plan("set_budget", spent, action=Action("set_budget", to=60.0)), ctx(currency="BRL"))
    assert got is Verdict.SKIP and "below 105 % of what it spent today" in why
    huge = entity(budget=9e9, spend=0.0)
    got, _, _ = one(plan("set_budget", huge, action=Action("set_budget", to=1e10)), ctx(currency="BRL"))
    assert got is Verdict.GO


@pytest.mark.parametrize(
    ("currency", "level", "to", "verdict", "shown"),
    [
        ("BRL", Level.CAMPAIGN, 230.0, Verdict.SKIP, "below TikTok's minimum campaign budget of 250.00 BRL"),
        ("BRL", Level.ADGROUP, 99.0, Verdict.SKIP, "below TikTok's minimum adgroup budget of 100.00 BRL"),
        ("BRL", Level.ADGROUP, 100.0, Verdict.GO, "budget 120.00 BRL -> 100.00 BRL"),
        ("MXN", Level.CAMPAIGN, 69.0, Verdict.SKIP, "below TikTok's minimum campaign budget of 70.00 MXN"),
        ("USD", Level.CAMPAIGN, 61.0, Verdict.SKIP, "below TikTok's minimum campaign budget of 62.00 USD"),
    ],
)
def test_configured_minimums_come_before_the_documented_ones(
    currency: str, level: Level, to: float, verdict: Verdict, shown: str
) -> None:
    configured = {"BRL": (250.0, 100.0), "MXN": (70.0, 70.0), "USD": (62.0, 25.0)}
    state = entity("e1", level, budget=120.0, spend=0.0)
    got, why, _ = one(
        plan("set_budget", state, action=Action("set_budget", to=to)), ctx(currency=currency, min_budget=configured)
    )
    assert got is verdict and shown in why, why
    assert "TikTok decides" not in why


def test_ad_group_minimum_and_daily_budget_scheduled_for_the_next_local_midnight() -> None:
    group = entity("g1", Level.ADGROUP, budget=30.0, spend=5.0)
    assert (
        "minimum adgroup budget of 20.00 USD" in one(plan("set_budget", group, action=Action("set_budget", to=19.0)))[1]
    )
    verdict, reason, after = one(plan("set_budget", group, action=Action("set_budget", to=25.0)))
    assert verdict is Verdict.GO and "from the next local midnight" in reason
    assert after == {"budget": 25.0, "scheduled_from": "2026-11-25T00:00:00-05:00"}
    # asked again the same day: already scheduled, nothing to write
    scheduled = JournalEntry(4, NOW, ActionIntent(ADV, Level.ADGROUP, "g1", "set_budget", "w", {"budget": 30.0}, after),
                             ActionStatus.SUCCEEDED, NOW, None, None)  # fmt: skip
    verdict, reason, _ = one(plan("set_budget", group, action=Action("set_budget", to=25.0)), ctx(entries=(scheduled,)))
    assert (verdict, reason) == (Verdict.SKIP, "already scheduled for tomorrow: 25.00 USD")


def test_a_budget_compounds_no_more_than_max_change_per_day_across_rules() -> None:
    """+50 % asks, poll after poll: trimmed at double the budget the day started with, then refused."""
    entries: list[JournalEntry] = []
    budget = 100.0
    seen = []
    for i in range(6):
        state = entity(budget=budget)
        verdict, reason, after = one(plan("scale_budget", state, action=Action("scale_budget", by=50.0)),
                                     ctx(entries=tuple(entries)))  # fmt: skip
        seen.append((verdict, after["budget"]))
        if verdict is Verdict.GO:
            entries.append(entry(i + 1, after, {"budget": budget}))
            budget = after["budget"]
    assert seen == [
        (Verdict.GO, 150.0),
        (Verdict.GO, 200.0),  # 225 asked: trimmed to +100 % of 100
        (Verdict.SKIP, 200.0),  # at the limit
        (Verdict.SKIP, 200.0),
        (Verdict.SKIP, 200.0),
        (Verdict.SKIP, 200.0),
    ]
    assert "max_change_per_day = +100% reached for today" in reason
    # the next local day starts from the new budget
    tomorrow = NOW + timedelta(days=1)
    verdict, _, after = one(plan("scale_budget", entity(budget=200.0), action=Action("scale_budget", by=50.0)),
                            ctx(now=tomorrow, entries=tuple(entries)))  # fmt: skip
    assert (verdict, after["budget"]) == (Verdict.GO, 300.0)


def test_the_daily_limit_as_an_amount_and_downwards() -> None:
    limited = ctx(change_percent=None, change_amount=30.0)
    assert one(plan("set_budget"), limited)[2] == {"budget": 130.0}
    cut = plan("scale_budget", entity(budget=400.0, spend=10.0), action=Action("scale_budget", by=-90.0))
    verdict, reason, after = one(cut)
    assert (verdict, after) == (Verdict.GO, {"budget": 200.0})
    assert "trimmed to 200.00 USD by max_change_per_day = +100% (from 400.00 USD at the start of the day)" in reason


def test_a_failed_or_dry_run_budget_write_does_not_count_towards_the_day() -> None:
    failed = entry(1, {"budget": 200.0}, {"budget": 100.0}, status=ActionStatus.FAILED)
    dry = entry(2, {"budget": 200.0}, {"budget": 100.0}, dry_run=True, status=ActionStatus.DRY_RUN)
    yesterday = entry(3, {"budget": 100.0}, {"budget": 50.0}, at=NOW - timedelta(days=1))
    verdict, _, after = one(
        plan("set_budget", action=Action("set_budget", to=200.0)), ctx(entries=(failed, dry, yesterday))
    )
    assert (verdict, after["budget"]) == (Verdict.GO, 200.0)
