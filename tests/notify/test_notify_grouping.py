"""Grouping: one message per (advertiser, rule, kind) listing the worst entities, and how many more."""

from __future__ import annotations

from dataclasses import replace

import pytest
from notify_factories import ACME, NOW, RULE, alert, entity

from monitor.domain import Account
from monitor.notify import AlertKind, Templates, group_alerts


def test_twenty_five_entities_become_one_message_listing_the_five_worst_and_twenty_more(templates: Templates) -> None:
    spends = [100.0 + (i * 37) % 25 * 10 for i in range(25)]  # a shuffled 100..340
    alerts = [alert(entity(f"18{i:02d}", spend=spend)) for i, spend in enumerate(spends)]
    (message,) = group_alerts(alerts, limit=5)
    assert [e.values[0].value for e in message.entities] == [340.0, 330.0, 320.0, 310.0, 300.0]
    assert (message.more_count, message.total) == (20, 25)
    text = templates.slack(message).text
    assert "25 campaigns" in text and "and 20 more campaigns" in text
    assert text.count("• ") == 5
    assert "and 20 more campaigns" in templates.email(message).text


def test_missing_values_sort_last_and_ties_by_id() -> None:
    alerts = [alert(entity("c", spend=None)), alert(entity("b", spend=5.0)), alert(entity("a", spend=5.0))]
    alerts.append(alert(entity("d", spend=9.0)))
    (message,) = group_alerts(alerts, limit=10)
    assert [e.id for e in message.entities] == ["d", "a", "b", "c"]


def test_lowest_is_worst_when_the_rule_says_so_and_sort_by_picks_the_metric() -> None:
    rule = replace(RULE, worst="lowest", sort_by="conversion")
    alerts = [alert(entity(str(i), spend=float(i), conversion=10 - i), rule=rule) for i in range(6)]
    (message,) = group_alerts(alerts, limit=2)
    assert [e.id for e in message.entities] == ["5", "4"]  # fewest conversions first
    assert message.more_count == 4


def test_different_rules_advertisers_and_kinds_stay_apart_in_first_seen_order() -> None:
    other_rule = replace(RULE, name="cpc-spike")
    other_adv = Account("7000000000000000002", "Kiwi Coffee Roasters", "NZD", "Etc/GMT-12")
    alerts = [
        alert(entity("1")),
        alert(entity("2"), rule=other_rule),
        alert(entity("3"), advertiser=other_adv),
        alert(entity("4"), kind=AlertKind.RESOLVED),
        alert(entity("5")),
    ]
    grouped = group_alerts(alerts)
    assert [(m.rule.name, m.advertiser.id, m.kind.value, [e.id for e in m.entities]) for m in grouped] == [
        ("overspend-no-conversions", ACME.id, "firing", ["1", "5"]),
        ("cpc-spike", ACME.id, "firing", ["2"]),
        ("overspend-no-conversions", other_adv.id, "firing", ["3"]),
        ("overspend-no-conversions", ACME.id, "resolved", ["4"]),
    ]


def test_a_single_alert_comes_back_unchanged_and_regrouping_adds_up_more_count() -> None:
    single = alert(entity("1"))
    assert group_alerts([single]) == [single]
    earlier = NOW.replace(hour=19)
    first = group_alerts([alert(entity(str(i)), first_seen=earlier) for i in range(7)], limit=3)[0]
    again = group_alerts([first, alert(entity("x", spend=9999.0))], limit=3)[0]
    assert again.total == 8 and again.entities[0].id == "x" and again.more_count == 5
    assert again.first_seen == earlier


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        group_alerts([alert()], limit=0)
