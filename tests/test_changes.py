"""``changed_by`` as decisions: who made a Change Log row (table), which row explains an entity, what the
manual-override hold makes of it, how rules read it and how messages show it. Pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.actions.override import detect
from monitor.changes import asked, changed_by, classify
from monitor.domain import EntityState, Level
from monitor.notify.compose import with_changed_by
from monitor.rules.expr import compile_when
from monitor.rules.resolve import Context
from monitor.store.diff import FieldChange
from monitor.store.values import ActionIntent, ActionStatus, JournalEntry

OURS = "4242424242"
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
KEY = (Level.CAMPAIGN, "c1")


@pytest.mark.parametrize(
    ("source", "operator", "app_id", "ours", "who"),
    [
        ("Marketing API", "a***@example.com", OURS, OURS, "monitor"),
        ("Marketing API", "a***@example.com", " 4242424242 ", OURS, "monitor"),
        ("Marketing API", "a***@example.com", "999", OURS, "another app"),
        ("Marketing API", "a***@example.com", OURS, None, None),  # the monitor's app id not configured
        ("TikTok Ads Manager", "m***@example.com", "", OURS, "a person"),
        ("TikTok Ads Manager", "m***@example.com", None, OURS, "a person"),
        ("Web", None, None, OURS, "a person"),
        (None, "x***@example.com", None, OURS, "a person"),
        ("System", "TikTok", "", OURS, "TikTok"),
        ("SYSTEM", None, None, OURS, "TikTok"),
        (None, "TikTok", None, OURS, "TikTok"),
        ("Marketing API", None, None, OURS, None),  # an app without its id: which app is unknown
        ("Something new", None, None, OURS, None),
        (None, None, None, OURS, None),
    ],
)
def test_classify(source, operator, app_id, ours, who):
    assert classify(source, operator, app_id, ours) == who


def row(time, object_id="c1", module="STATUS", source="TikTok Ads Manager", app_id="", kind="CAMPAIGN"):
    return (time, kind, object_id, module, source, "m***@example.com", app_id)


def test_the_latest_change_of_the_field_that_changed_explains_an_entity():
    wanted = {KEY: frozenset({"operation_status"})}
    rows = [
        row("2026-11-24 19:58:00", source="Marketing API", app_id=OURS),
        row("2026-11-24 19:59:00"),  # the person's change came last
        row("2026-11-24 19:59:30", module="BUDGET", source="System"),  # budget did not change between the polls
        row("2026-11-24 19:59:40", object_id="c2", source="System"),  # not asked about
        row("2026-11-24 19:59:50", kind="ADGROUP"),  # another level's object of the same id
    ]
    assert changed_by(rows, wanted, OURS) == {KEY: "a person"}


def test_status_before_budget_and_nothing_for_an_entity_the_log_does_not_explain():
    wanted = {KEY: frozenset({"operation_status", "budget"}), (Level.AD, "a1"): frozenset({"operation_status"})}
    rows = [row("2026-11-24 19:59:00", module="BUDGET"), row("2026-11-24 19:58:00", source="System")]
    assert changed_by(rows, wanted, OURS) == {KEY: "TikTok"}


def test_asked_only_for_status_and_budget_of_levels_the_change_log_knows():
    pairs = [
        (KEY, "budget"),
        (KEY, "name"),
        ((Level.ADVERTISER, "a"), "budget"),
        ((Level.AD, "a1"), "secondary_status"),
    ]
    assert asked(pairs) == {KEY: frozenset({"budget"})}


def _write() -> JournalEntry:
    intent = ActionIntent(
        "adv", Level.CAMPAIGN, "c1", "pause", "rule", {"operation_status": "ENABLE"}, {"operation_status": "DISABLE"}
    )
    return JournalEntry(7, NOW - timedelta(minutes=10), intent, ActionStatus.SUCCEEDED, NOW, None, None)


@pytest.mark.parametrize(
    ("who", "held_by"),
    [(None, "a person"), ("a person", "a person"), ("another app", "another app"), ("TikTok", None), ("monitor", None)],
)
def test_the_override_hold_uses_changed_by(who, held_by):
    undone = FieldChange(KEY, "operation_status", "DISABLE", "ENABLE")
    holds = detect([undone], {(KEY, "operation_status"): _write()}, NOW, timedelta(hours=24), "USD", {KEY: who})
    assert [h.by for h in holds] == ([held_by] if held_by else [])


def test_rules_read_changed_by_as_a_string_with_no_data_when_unknown():
    condition = compile_when("changed_by == 'a person'", level=Level.CAMPAIGN)
    entity = EntityState(Level.CAMPAIGN, "c1", "adv", operation_status="ENABLE")
    assert condition.fn(Context(entity)) is None
    assert condition.fn(Context(entity.with_changed_by("a person"))) is True
    assert condition.fn(Context(entity.with_changed_by("TikTok"))) is False
    assert entity.with_changed_by("TikTok") == entity  # not compared: the diff and the store never see it


@pytest.mark.parametrize(
    ("when", "level", "message"),
    [
        ("changed_by == 'person'", Level.CAMPAIGN, "did you mean 'a person'?"),
        ("prev.changed_by == 'TikTok'", Level.CAMPAIGN, "changed_by has no previous value"),
        ("changed_by == 'TikTok'", Level.ADVERTISER, "not available in advertiser rules"),
    ],
)
def test_rules_refuse_what_changed_by_can_never_hold(when, level, message):
    with pytest.raises(Exception, match=message):
        compile_when(when, level=level)


def test_messages_show_changed_by_where_they_show_a_status_or_budget():
    assert with_changed_by({"operation_status": "ENABLE"}, "a person") == {
        "operation_status": "ENABLE",
        "changed_by": "a person",
    }
    assert with_changed_by({"prev.budget": 400.0}, "TikTok")["changed_by"] == "TikTok"
    assert with_changed_by({"spend": 500.0}, "a person") == {"spend": 500.0}
    assert with_changed_by({"operation_status": "ENABLE"}, None) == {"operation_status": "ENABLE"}
