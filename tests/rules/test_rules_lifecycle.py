"""The alert lifecycle, as tables of polls: for, cooldown, resolve, flapping, missing data."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_factories import T0, entity, minutes, rule, snapshot

from monitor.domain import AlertState, Level, Severity
from monitor.rules import advance, evaluate, step
from monitor.rules.engine import Finding
from monitor.rules.lifecycle import firing_counts

CAMPAIGN = entity("campaign", "1800000000000001", name="Summer", today={"spend": 600.0})


def finding(the_rule):
    return Finding(the_rule, CAMPAIGN, {"spend": 600.0})


def run(the_rule, polls):
    """Feed (minute, outcome) polls to step(); outcome T (holds), F (does not), U (undecided: no data).

    Returns, per poll, (state or None, transitions as "kind!" when notified, "kind" when quiet, "+act" suffix).
    """
    alert, seen = None, []
    for minute, outcome in polls:
        found = finding(the_rule) if outcome == "T" else None
        alert, transitions = step(the_rule, alert, found, T0 + minutes(minute), undecided=outcome == "U")
        shown = [t.kind + ("!" if t.notify else "") + ("+act" if t.act else "") for t in transitions]
        seen.append((alert.state if alert else None, shown))
    return seen


def polls(pattern, every=5, start=0):
    """ "TTF" -> [(0, "T"), (5, "T"), (10, "F")]"""
    return [(start + i * every, outcome) for i, outcome in enumerate(pattern)]


@pytest.mark.parametrize(
    ("settings_", "timeline"),
    [
        pytest.param(
            {},
            [
                (0, "T", "firing", ["firing!+act"]),
                (5, "T", "firing", []),
                (10, "F", "resolving", []),  # one clean poll could be a blip
                (15, "F", "resolved", ["resolved"]),  # notify_resolved is off: a quiet transition
                (20, "F", "resolved", []),  # remembered for the cooldown after the last notice...
                (240, "F", None, []),  # ...then forgotten
            ],
            id="fires at once, resolves after two clean polls, is forgotten after the cooldown",
        ),
        pytest.param(
            {"for_": minutes(15)},
            [
                (0, "T", "pending", ["pending"]),
                (5, "T", "pending", []),
                (10, "T", "pending", []),
                (15, "T", "firing", ["firing!+act"]),
            ],
            id="for: pending until the condition held for 15 minutes",
        ),
        pytest.param(
            {"for_": minutes(15)},
            [
                (0, "T", "pending", ["pending"]),
                (5, "T", "pending", []),
                (10, "F", None, []),
                (15, "T", "pending", ["pending"]),
                (25, "T", "pending", []),
                (30, "T", "firing", ["firing!+act"]),
            ],
            id="for: a break starts the wait over",
        ),
        pytest.param(
            {"for_": minutes(10)},
            [
                (0, "T", "pending", ["pending"]),
                (5, "U", None, []),
                (10, "T", "pending", ["pending"]),
            ],
            id="for: missing data also starts the wait over",
        ),
        pytest.param(
            {"cooldown": timedelta(hours=1)},
            [
                (0, "T", "firing", ["firing!+act"]),
                (30, "T", "firing", []),
                (60, "T", "firing", ["repeat!"]),  # no action on repeats
                (90, "T", "firing", []),
                (120, "T", "firing", ["repeat!"]),
            ],
            id="cooldown: a firing alert is repeated once the cooldown has passed",
        ),
        pytest.param(
            {"cooldown": timedelta(0)},
            [
                (0, "T", "firing", ["firing!+act"]),
                (5, "T", "firing", ["repeat!"]),
                (10, "T", "firing", ["repeat!"]),
            ],
            id="cooldown 0 repeats every poll",
        ),
        pytest.param(
            {"notify_resolved": True},
            [
                (0, "T", "firing", ["firing!+act"]),
                (5, "F", "resolving", []),
                (10, "T", "firing", []),  # the blip: nothing said either way
                (15, "F", "resolving", []),
                (20, "F", "resolved", ["resolved!"]),
            ],
            id="notify_resolved: one notice, after two clean polls",
        ),
        pytest.param(
            {"notify_resolved": True},
            [
                (0, "T", "firing", ["firing!+act"]),
                (5, "U", "firing", []),
                (10, "U", "firing", []),
                (15, "F", "resolving", []),
                (20, "U", "resolving", []),
                (25, "F", "resolved", ["resolved!"]),
            ],
            id="no data is not a recovery",
        ),
        pytest.param(
            {"notify_resolved": True},
            [
                (0, "T", "firing", ["firing!+act"]),
                (5, "F", "resolving", []),
                (10, "F", "resolved", ["resolved!"]),
                (15, "T", "firing", ["firing+act"]),  # back within the cooldown: quiet, but the action runs
                (20, "F", "resolving", []),
                (25, "F", "resolved", ["resolved"]),  # a quiet episode resolves quietly
                (30, "T", "firing", ["firing+act"]),
                (240, "T", "firing", ["firing!"]),  # still firing when the cooldown is over: announced now
                (245, "T", "firing", []),
                (480, "T", "firing", ["repeat!"]),
            ],
            id="flapping within the cooldown: quiet, then announced once the cooldown is over",
        ),
        pytest.param(
            {"for_": minutes(10)},
            [
                (0, "T", "pending", ["pending"]),
                (10, "T", "firing", ["firing!+act"]),
                (15, "F", "resolving", []),
                (20, "F", "resolved", ["resolved"]),
                (25, "T", "pending", ["pending"]),
                (30, "F", "resolved", []),  # pending broke off: back to remembering the notice
                (35, "T", "pending", ["pending"]),
                (45, "T", "firing", ["firing+act"]),  # within the cooldown of the notice at 10: quiet
            ],
            id="for and flapping: the memory of the last notice survives pending",
        ),
    ],
)
def test_lifecycle(settings_, timeline):
    the_rule = rule("spend > 500", **settings_)
    got = run(the_rule, [(minute, outcome) for minute, outcome, _, _ in timeline])
    assert got == [(state, transitions) for _, _, state, transitions in timeline]


@pytest.mark.parametrize(
    "pattern",
    ["TF" * 48, "TTFF" * 24, "TTTFFF" * 16, "TFF" * 32, "TUF" * 32, "TTFFU" * 20],
)
def test_flapping_does_not_send_a_message_per_poll(pattern):
    the_rule = rule("spend > 500", notify_resolved=True, cooldown=timedelta(hours=4))
    seen = run(the_rule, polls(pattern))  # 8 hours of polls every 5 minutes
    messages = [t for _, transitions in seen for t in transitions if "!" in t]
    assert len(messages) <= 4, messages  # at most a firing and a resolved notice per cooldown


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from("TFU"), min_size=1, max_size=120),
    st.sampled_from([timedelta(0), minutes(15), timedelta(hours=1), timedelta(hours=4)]),
    st.sampled_from([timedelta(0), minutes(10)]),
    st.booleans(),
)
def test_notices_are_never_closer_than_the_cooldown(pattern, cooldown, hold, notify_resolved):
    the_rule = rule("spend > 500", cooldown=cooldown, for_=hold, notify_resolved=notify_resolved)
    alert, firing_notices, resolved_notices = None, [], 0
    for n, outcome in enumerate(pattern):
        now = T0 + minutes(5 * n)
        found = finding(the_rule) if outcome == "T" else None
        alert, transitions = step(the_rule, alert, found, now, undecided=outcome == "U")
        for t in transitions:
            if t.notify and t.kind in ("firing", "repeat"):
                firing_notices.append(now)
            if t.notify and t.kind == "resolved":
                resolved_notices += 1
                assert notify_resolved
            assert t.kind != "repeat" or not t.act
    assert all(b - a >= cooldown for a, b in itertools.pairwise(firing_notices))
    assert resolved_notices <= len(firing_notices)


def test_states_carry_what_the_rule_saw():
    the_rule = rule("spend > 500")
    alert, [transition] = step(the_rule, None, finding(the_rule), T0)
    assert alert == AlertState(
        rule="r",
        advertiser_id="7000000000000000001",
        level=Level.CAMPAIGN,
        entity_id="1800000000000001",
        state="firing",
        since=T0,
        last_notified_at=T0,
        values={"spend": 600.0},
    )
    assert transition.alert == alert and transition.entity is CAMPAIGN and transition.at == T0
    assert transition.reason == "spend > 500: spend = 600"


# --- advance: a whole advertiser -------------------------------------------------------------------------


def test_advance_steps_findings_and_stored_states_and_forgets_removed_rules():
    overspend = rule("spend > 500", name="overspend", notify_resolved=True)
    cheap = rule("spend < 100", name="cheap")
    a = entity("campaign", "1", today={"spend": 600.0})
    b = entity("campaign", "2", today={"spend": 50.0})
    gone_rule = AlertState(rule="deleted-rule", advertiser_id=a.advertiser_id, level="campaign", entity_id="1",
                           state="firing", since=T0)  # fmt: skip

    first = advance(
        [overspend, cheap], {gone_rule.key: gone_rule}, evaluate([overspend, cheap], snapshot(a, b), None, T0), T0
    )
    assert [(t.rule.name, t.alert.entity_id, t.kind, t.notify) for t in first.transitions] == [
        ("overspend", "1", "firing", True),
        ("cheap", "2", "firing", True),
    ]
    assert first.removed == (gone_rule.key,)
    assert {s.key for s in first.states} == {("overspend", Level.CAMPAIGN, "1"), ("cheap", Level.CAMPAIGN, "2")}
    assert [t.rule.name for t in first.notifications] == ["overspend", "cheap"]

    states = {s.key: s for s in first.states}
    # entity 1 stops being returned by the API; entity 2 keeps firing
    later = T0 + minutes(5)
    second = advance(
        [overspend, cheap], states, evaluate([overspend, cheap], snapshot(b, at=later), None, later), later
    )
    assert second.transitions == ()
    states.update((s.key, s) for s in second.states)
    assert states[("overspend", Level.CAMPAIGN, "1")].state == "resolving"

    last = T0 + minutes(10)
    third = advance([overspend, cheap], states, evaluate([overspend, cheap], snapshot(b, at=last), None, last), last)
    [resolved] = third.transitions
    assert (resolved.kind, resolved.notify, resolved.entity) == ("resolved", True, None)
    assert resolved.reason == "no longer returned by the API"


def test_firing_counts_after_a_poll_by_rule_and_severity_resolving_included_removed_and_pending_not():
    overspend = rule("spend > 500", name="overspend", severity=Severity.CRITICAL)
    slow = rule("spend > 500", name="slow", for_=minutes(30))  # pending first
    quiet = rule("spend < 0", name="quiet", severity=Severity.INFO)
    rules = [overspend, slow, quiet]
    a = entity("campaign", "1", today={"spend": 600.0})
    b = entity("campaign", "2", today={"spend": 700.0})
    gone_rule = AlertState(rule="deleted-rule", advertiser_id=a.advertiser_id, level="campaign", entity_id="1",
                           state="firing", since=T0)  # fmt: skip
    before = {gone_rule.key: gone_rule}
    first = advance(rules, before, evaluate(rules, snapshot(a, b), None, T0), T0)
    assert firing_counts(rules, before, first) == {
        ("overspend", "critical"): 2,
        ("slow", "warning"): 0,  # pending is not firing
        ("quiet", "info"): 0,  # every loaded rule is counted, 0 too
    }
    states = {s.key: s for s in first.states}
    later = T0 + minutes(5)
    second = advance(rules, states, evaluate(rules, snapshot(b, at=later), None, later), later)
    assert {**states, **{s.key: s for s in second.states}}[("overspend", Level.CAMPAIGN, "1")].state == "resolving"
    assert firing_counts(rules, states, second)[("overspend", "critical")] == 2  # resolving still fires


def test_advance_keeps_a_firing_alert_through_missing_data():
    the_rule = rule("conversion == 0 and spend > 100", notify_resolved=True)
    with_data = entity("campaign", "1", today={"spend": 600.0, "conversion": 0})
    without = entity("campaign", "1")  # the report failed: no row
    first = advance([the_rule], {}, evaluate([the_rule], snapshot(with_data), None, T0), T0)
    states = {s.key: s for s in first.states}
    for n in range(1, 6):
        now = T0 + minutes(5 * n)
        progress = advance([the_rule], states, evaluate([the_rule], snapshot(without, at=now), None, now), now)
        assert progress.transitions == () and progress.removed == ()
        states.update((s.key, s) for s in progress.states)
    assert states[("r", Level.CAMPAIGN, "1")].state == "firing"


def test_actions_run_when_an_alert_starts_firing():
    from monitor.rules.model import Action

    the_rule = rule("spend > 500", action=Action("pause"), dry_run=True)
    progress = advance([the_rule], {}, evaluate([the_rule], snapshot(CAMPAIGN), None, T0), T0)
    [transition] = progress.actions
    assert transition.rule.action == Action("pause") and transition.rule.dry_run
    states = {s.key: s for s in progress.states}
    later = T0 + minutes(5)
    again = advance([the_rule], states, evaluate([the_rule], snapshot(CAMPAIGN, at=later), None, later), later)
    assert again.actions == ()
