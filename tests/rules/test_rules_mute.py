"""Silences and active times: matchers and intervals (pure, with hypothesis), a muted alert's lifecycle (it
fires, pends and resolves, but neither notifies nor acts; a withheld firing is delivered when the mute ends),
and the rule keys enabled, active and active_days."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rules_factories import ADVERTISER, T0, entity, minutes, rule, snapshot

from monitor.domain import Level, Matcher, MatcherError, Silence
from monitor.domain.silences import FACTS, alert_facts
from monitor.errors import ConfigError
from monitor.rules import evaluate, load_rules, step, summarize
from monitor.rules.active import ActiveTime, parse_range
from monitor.rules.engine import Finding
from monitor.rules.lifecycle import advance
from monitor.rules.mute import Muting

CAMPAIGN = entity("campaign", "1800000000000001", name="Summer sale", today={"spend": 600.0})
FACTS_OF_CAMPAIGN = alert_facts("overspend", ADVERTISER, Level.CAMPAIGN, CAMPAIGN.id, CAMPAIGN.name)

# --- matchers and silences -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("rule=overspend", True),
        ("rule=overspend-2", False),
        ("name~Summer*", True),
        ("name~summer*", False),  # case-sensitive
        ("name~Summer", False),  # the whole name
        ("name=Summer sale", True),
        ("name~Summer?sale", True),
        ("level=campaign", True),
        ("level~ad*", False),
        (f"advertiser={ADVERTISER}", True),
        ("entity~1800*", True),
        ("entity=1800000000000002", False),
    ],
)
def test_matchers_compare_one_fact_by_equality_or_glob(text: str, matches: bool) -> None:
    assert Matcher.parse(text).matches(FACTS_OF_CAMPAIGN) is matches


def test_matchers_print_as_written_with_values_quoted_for_the_shell() -> None:
    assert [str(Matcher.parse(t)) for t in ("rule=x", "name~Summer *", "name=it's")] == [
        "rule=x",
        "name~'Summer *'",
        "name='it'\"'\"'s'",
    ]


def test_a_missing_fact_is_the_empty_text() -> None:
    gone = alert_facts("overspend", ADVERTISER, Level.CAMPAIGN, "1", None)
    assert not Matcher.parse("name~*x*").matches(gone) and Matcher.parse("name~*").matches(gone)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour=red", "unknown matcher 'colour': expected one of rule, advertiser, level, entity, name"),
        ("rule=", "matcher 'rule' has no value"),
        ("overspend", "expected a matcher like rule=overspend or name~'Summer *', got 'overspend'"),
        ("level=campain", "level must be one of advertiser, campaign, adgroup, ad; got 'campain'"),
        ("name=~Summer.*", "'name=~Summer.*': write name~Summer.* for a glob (here ~ is a glob, not a regex)"),
    ],
)
def test_bad_matchers_say_why(text: str, message: str) -> None:
    with pytest.raises(MatcherError) as caught:
        Matcher.parse(text)
    assert str(caught.value) == message


def test_a_silence_needs_a_matcher_and_an_end_after_its_start() -> None:
    with pytest.raises(MatcherError, match="at least one matcher"):
        Silence((), T0, T0 + minutes(5), "alice")
    with pytest.raises(MatcherError, match="end after it starts"):
        Silence((Matcher("rule", "x"),), T0, T0 - minutes(5), "alice")


TEXT = st.text(alphabet=string.ascii_letters + string.digits + " -_.", min_size=1, max_size=12)


@given(fact=st.sampled_from(FACTS[:2] + FACTS[3:]), value=TEXT, other=TEXT)
def test_a_glob_without_wildcards_is_equality(fact: str, value: str, other: str) -> None:
    facts = {fact: other}
    assert Matcher(fact, value, is_glob=True).matches(facts) is Matcher(fact, value).matches(facts) is (value == other)


@given(prefix=TEXT, rest=st.text(max_size=10))
def test_a_trailing_star_matches_every_extension(prefix: str, rest: str) -> None:
    assert Matcher("name", prefix + "*", is_glob=True).matches({"name": prefix + rest})


@given(
    results=st.lists(st.booleans(), min_size=1, max_size=5),
    start=st.integers(-300, 300),
    length=st.integers(0, 300),
    at=st.integers(-600, 600),
)
def test_a_silence_mutes_when_every_matcher_matches_while_it_is_active(
    results: list[bool], start: int, length: int, at: int
) -> None:
    matchers = tuple(Matcher("rule", "r") if ok else Matcher("entity", "nope") for ok in results)
    silence = Silence(matchers, T0 + minutes(start), T0 + minutes(start + length), "alice")
    now = T0 + minutes(at)
    assert silence.matches({"rule": "r", "entity": "1"}) is all(results)
    assert silence.active(now) is (start <= at < start + length)
    assert silence.state(now) == ("pending" if at < start else "active" if at < start + length else "expired")


# --- active times ----------------------------------------------------------------------------------------------


def test_ranges_parse_and_bad_ones_say_why() -> None:
    assert parse_range("08:00-20:00") == (480, 1200) and parse_range("00:00-24:00") == (0, 1440)
    for text, message in [
        ("8-20", "expected a time range like \"08:00-20:00\", got '8-20'"),
        ("08:00-25:00", "'08:00-25:00': hours are 00:00 to 24:00"),
        ("08:00-08:00", "'08:00-08:00': the end must be after the start"),
        (
            "20:00-06:00",
            "'20:00-06:00': the end must be after the start (across midnight write two ranges: "
            '["20:00-24:00", "00:00-06:00"])',
        ),
    ]:
        with pytest.raises(ValueError) as caught:
            parse_range(text)
        assert str(caught.value) == message


@given(
    ranges=st.lists(st.tuples(st.integers(0, 1439), st.integers(1, 1440)), max_size=3).map(
        lambda pairs: tuple((a, b) for a, b in pairs if a < b)
    ),
    days=st.none() | st.frozensets(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])),
    minute=st.integers(0, 7 * 1440 - 1),
)
def test_active_time_contains_the_minutes_of_its_ranges_on_its_days(
    ranges: tuple[tuple[int, int], ...], days: frozenset[str] | None, minute: int
) -> None:
    monday = datetime(2026, 11, 23)  # a Monday
    local = monday + timedelta(minutes=minute)
    day, of_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][minute // 1440], minute % 1440
    expected = (days is None or day in days) and (not ranges or any(a <= of_day < b for a, b in ranges))
    assert ActiveTime(ranges, days).contains(local) is expected


def test_active_time_is_read_in_the_advertisers_time_zone() -> None:
    office = rule("spend > 5", active=ActiveTime(((8 * 60, 20 * 60),), frozenset({"mon", "tue"})))
    tuesday_10_in_new_york = T0  # 15:00 UTC
    assert Muting.of(ADVERTISER, T0, "America/New_York").reason(office, Level.CAMPAIGN, "1") is None
    assert Muting.of(ADVERTISER, T0, "Asia/Tokyo").reason(office, Level.CAMPAIGN, "1") == (
        "outside the rule's active time 08:00-20:00 on mon, tue"  # Wednesday 00:00 in Tokyo
    )
    assert tuesday_10_in_new_york.weekday() == 1


# --- a muted alert's lifecycle ---------------------------------------------------------------------------------


def run(the_rule, polls):
    """(minute, outcome, muted) polls through step(): outcome T (holds) or F; ``muted`` True mutes that poll.
    Returns per poll (state, withheld, transitions as "kind", "kind!" notified, "+act" acted)."""
    alert, seen = None, []
    for minute, outcome, muted in polls:
        found = Finding(the_rule, CAMPAIGN, {"spend": 600.0}) if outcome == "T" else None
        alert, transitions = step(the_rule, alert, found, T0 + minutes(minute), muted="silenced" if muted else None)
        shown = [t.kind + ("!" if t.notify else "") + ("+act" if t.act else "") for t in transitions]
        seen.append((alert.state if alert else None, alert.withheld if alert else None, shown))
    return seen


def test_a_muted_firing_is_withheld_then_notified_and_acted_on_when_the_mute_ends() -> None:
    the_rule = rule("spend > 5", notify_resolved=True)
    assert run(the_rule, [(0, "T", True), (5, "T", True), (10, "T", False), (15, "T", False)]) == [
        ("firing", True, ["firing"]),  # fires (status shows it), neither told nor acted on
        ("firing", True, []),
        ("firing", False, ["firing!+act"]),  # the mute is over and it still fires: told and acted on now
        ("firing", False, []),
    ]


def test_a_withheld_firing_that_resolves_during_the_mute_is_never_told() -> None:
    the_rule = rule("spend > 5", notify_resolved=True)
    assert run(the_rule, [(0, "T", True), (5, "F", True), (10, "F", False), (15, "F", False)]) == [
        ("firing", True, ["firing"]),
        ("resolving", True, []),
        ("resolved", False, ["resolved"]),  # its firing was never announced: neither is its end
        (None, None, []),  # nothing was told: nothing to remember for flapping
    ]


def test_an_announced_alert_muted_drops_its_repeat_and_its_resolved_notice() -> None:
    the_rule = rule("spend > 5", notify_resolved=True, cooldown=minutes(10))
    assert run(the_rule, [(0, "T", False), (10, "T", True), (15, "T", False), (20, "F", True), (25, "F", True)]) == [
        ("firing", False, ["firing!+act"]),
        ("firing", False, []),  # the repeat falls in the mute: dropped
        ("firing", False, ["repeat!"]),  # told once the mute is over
        ("resolving", False, []),
        ("resolved", False, ["resolved"]),  # muted: not told
    ]


def test_advance_mutes_the_alerts_a_silence_matches_and_only_those() -> None:
    the_rule = rule("spend > 5", name="overspend", notify=())
    other = entity("campaign", "1800000000000002", name="Winter", today={"spend": 600.0})
    now = T0
    silence = Silence((Matcher("name", "Summer*", is_glob=True), Matcher("rule", "overspend")), now, now + minutes(60),
                      "alice", id=3)  # fmt: skip
    ended = Silence((Matcher("rule", "overspend"),), now - minutes(60), now, "bob", id=2)
    current = snapshot(CAMPAIGN, other)
    evaluation = evaluate([the_rule], current, None, now)
    mute = Muting.of(ADVERTISER, now, None, [silence, ended])
    progress = advance([the_rule], {}, evaluation, now, mute)
    by_entity = {t.alert.entity_id: t for t in progress.transitions}
    assert (by_entity[CAMPAIGN.id].notify, by_entity[CAMPAIGN.id].act) == (False, False)
    assert "(silenced by #3 name~Summer* rule=overspend: not notified, no action)" in by_entity[CAMPAIGN.id].reason
    assert (by_entity[other.id].notify, by_entity[other.id].act) == (True, True)
    # the entity is gone at the next poll: its name comes from the previous snapshot
    gone = Muting.of(ADVERTISER, now, None, [silence], {CAMPAIGN.key: "Summer sale"})
    assert gone.reason(the_rule, Level.CAMPAIGN, CAMPAIGN.id) is not None


# --- the rule keys ---------------------------------------------------------------------------------------------

RULES = """
[[rule]]
name = "office-hours"
level = "campaign"
when = "spend > 5"
active = "08:00-20:00"
active_days = ["mon", "tue", "wed", "thu", "fri"]

[[rule]]
name = "retired"
level = "ad"
when = "spend > 50"
enabled = false

[[rule]]
name = "nights"
level = "campaign"
when = "spend > 5"
active = ["20:00-24:00", "00:00-06:00"]
"""


def test_enabled_and_active_load_and_a_disabled_rule_is_never_evaluated(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text(RULES)
    ruleset = load_rules(tmp_path, channels=())
    office, retired, nights = ruleset
    assert office.active == ActiveTime(((480, 1200),), frozenset({"mon", "tue", "wed", "thu", "fri"}))
    assert nights.active == ActiveTime(((0, 360), (1200, 1440)))
    assert (office.enabled, retired.enabled, retired.active) == (True, False, None)
    assert [rule.name for rule in ruleset.enabled()] == ["office-hours", "nights"]
    assert Level.AD not in ruleset.needs().levels  # nothing fetched for a disabled rule
    shown = summarize(ruleset)
    assert "  disabled   retired (enabled = false: checked, never evaluated)" in shown
    assert "office-hours (08:00-20:00 on mon, tue, wed, thu, fri); nights (00:00-06:00, 20:00-24:00)" in shown
    ad = entity("ad", "9", today={"spend": 80.0})
    assert evaluate([retired], snapshot(ad), None, T0).findings == ()


def test_bad_active_keys_name_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text(
        '[[rule]]\nname = "a"\nlevel = "campaign"\nwhen = "spend > 5"\nactive = ["08:00-20:00", "22:00-06:00"]\n'
        'active_days = ["mon", "tues"]\nenabled = "no"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path, channels=())
    shown = [str(p).replace(str(tmp_path) + "/", "") for p in caught.value.problems]
    assert shown == [
        "r.toml:5: rule \"a\".active[1]: '22:00-06:00': the end must be after the start (across midnight write two "
        'ranges: ["22:00-24:00", "00:00-06:00"])',
        "r.toml:6: rule \"a\".active_days[1]: a day must be one of mon, tue, wed, thu, fri, sat, sun; got 'tues'; did you"
        " mean 'tue'?",
        'r.toml:7: rule "a".enabled: expected a boolean, got the string "no" (write true or false, without quotes)',
    ]


def test_active_hours_mute_in_the_advertisers_zone_through_advance() -> None:
    office = rule("spend > 5", active=ActiveTime(((8 * 60, 20 * 60),)))
    evening = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 21:00 in New York
    evaluation = evaluate([office], snapshot(CAMPAIGN, at=evening), None, evening)
    [fired] = advance([office], {}, evaluation, evening, Muting.of(ADVERTISER, evening, "America/New_York")).transitions
    assert (fired.kind, fired.notify, fired.act, fired.alert.withheld) == ("firing", False, False, True)
    assert fired.reason.endswith("(outside the rule's active time 08:00-20:00: not notified, no action)")
    morning = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 08:00 in New York
    evaluation = evaluate([office], snapshot(CAMPAIGN, at=morning), None, morning)
    states = {fired.alert.key: fired.alert}
    [told] = advance(
        [office], states, evaluation, morning, Muting.of(ADVERTISER, morning, "America/New_York")
    ).transitions
    assert (told.kind, told.notify, told.act, told.alert.since) == ("firing", True, True, evening)


@given(
    polls=st.lists(st.tuples(st.sampled_from("TF"), st.booleans()), min_size=1, max_size=30),
    cooldown=st.sampled_from([0, 10, 60]),
)
def test_however_mutes_fall_a_muted_poll_never_tells_or_acts_and_each_episode_acts_at_most_once(
    polls: list[tuple[str, bool]], cooldown: int
) -> None:
    the_rule = rule("spend > 5", notify_resolved=True, cooldown=minutes(cooldown))
    seen = run(the_rule, [(5 * i, outcome, muted) for i, (outcome, muted) in enumerate(polls)])
    acted_in_episode = 0
    for (outcome, muted), (state, withheld, shown) in zip(polls, seen, strict=True):
        if muted:
            assert not any("!" in s or "+act" in s for s in shown)
        acted_in_episode += sum("+act" in s for s in shown)
        assert acted_in_episode <= 1
        if state != "firing" and state != "resolving":
            acted_in_episode = 0
        # a firing alert that is not muted is never left withheld
        if outcome == "T" and not muted:
            assert withheld is False
