"""The history table: budgets in the advertiser's currency, never in scientific notation."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.actions.history import render
from monitor.domain import Level
from monitor.store.values import ActionIntent, ActionStatus, JournalEntry

AT = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def budget_entry(advertiser_id: str, before: float, after: float) -> JournalEntry:
    intent = ActionIntent(advertiser_id, Level.CAMPAIGN, "1800", "set_budget", "why", {"budget": before},
                          {"budget": after}, rule="scale")  # fmt: skip
    return JournalEntry(7, AT, intent, ActionStatus.SUCCEEDED, AT, "req-1", None)


def test_budgets_show_in_the_advertisers_currency() -> None:
    entries = [budget_entry("7000000000000000001", 2776020.0, 2220816.0), budget_entry("7000000000000000002", 434, 520)]
    text = render(entries, currencies={"7000000000000000001": "USD", "7000000000000000002": "JPY"})
    assert "2,776,020.00 USD -> 2,220,816.00 USD" in text
    assert "434 JPY -> 520 JPY" in text
    assert "e+06" not in text


def test_a_budget_of_an_advertiser_never_polled_is_a_plain_number() -> None:
    text = render([budget_entry("7000000000000000009", 2776020.0, 2220816.0)])
    assert "2,776,020.00 -> 2,220,816.00" in text and "e+06" not in text
