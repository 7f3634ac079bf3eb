"""currency: a name rules read, a scope ([rule.match] currencies), and the warning for money thresholds that
apply to accounts in several currencies."""

from __future__ import annotations

import pytest
from rules_factories import T0, decide, entity, rule, snapshot

from monitor.domain import Level
from monitor.errors import ConfigError
from monitor.rules import ExprError, Match, compile_when, evaluate, load_rules
from monitor.rules.money import CurrencyWatch, currency_warnings, money_thresholds

JPY_CAMPAIGN = entity("campaign", "1", today={"cpc": 88.07, "spend": 8807.0})


@pytest.mark.parametrize(
    ("when", "currency", "expected"),
    [
        ('currency == "USD"', "USD", True),
        ('currency == "USD"', "JPY", False),
        ('currency != "USD"', None, None),  # unknown is no data, not "another currency"
        ('currency in ["USD", "EUR"]', "EUR", True),
        ('currency not in ["USD", "EUR"] and cpc > 70', "JPY", True),
        ('currency == "USD" and cpc > 0.7', "JPY", False),  # the measured case: no longer fires on a JPY account
        ("has(currency)", None, False),
    ],
)
def test_currency_reads_the_advertisers(when, currency, expected):
    assert decide(when, JPY_CAMPAIGN, currency=currency) is expected


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ('currency == "usd"', "currency is an ISO 4217 code in capitals"),
        ('currency in ["USD", "yen"]', "currency is an ISO 4217 code in capitals"),
        ('prev.currency == "USD"', "currency has no previous value"),
        ("currency > 1", "cannot compare"),
        ("changed(currency)", "changed() compares with the previous poll: currency has no previous value"),
        ("yesterday.currency == 'USD'", "currency is not a report metric"),
    ],
)
def test_currency_mistakes(when, message):
    with pytest.raises(ExprError) as caught:
        compile_when(when, level=Level.CAMPAIGN, window="today")
    assert message in str(caught.value)


def test_match_currencies_scopes_a_rule_to_accounts_of_those_currencies():
    scoped = rule("cpc > 0.7", match=Match(currencies=frozenset({"USD"})))
    current = snapshot(JPY_CAMPAIGN)
    assert evaluate([scoped], current, None, T0, currency="JPY").findings == ()
    assert evaluate([scoped], current, None, T0, currency=None).findings == ()  # unknown: not applied
    assert len(evaluate([scoped], current, None, T0, currency="USD").findings) == 1
    assert len(evaluate([rule("cpc > 0.7")], current, None, T0, currency="JPY").findings) == 1  # unscoped


def test_match_currencies_in_a_rule_file(tmp_path):
    (tmp_path / "a.toml").write_text(
        '[[rule]]\nname = "cpc"\nlevel = "campaign"\nwhen = "cpc > 0.7"\nnotify = ["console"]\n'
        '[rule.match]\ncurrencies = ["USD", "EUR"]\n'
    )
    [loaded] = load_rules(tmp_path, channels={"console"})
    assert loaded.match.currencies == frozenset({"USD", "EUR"})
    assert loaded.match.everything  # no entity-level scope: the currency is the advertiser's


@pytest.mark.parametrize(
    ("value", "message"),
    [('["usd"]', 'match.currencies[0]: is an ISO 4217 code in capitals, like "USD"'), ("[]", "must not be empty")],
)
def test_match_currencies_mistakes_name_file_line_and_key(tmp_path, value, message):
    (tmp_path / "a.toml").write_text(
        f'[[rule]]\nname = "cpc"\nlevel = "campaign"\nwhen = "cpc > 0.7"\n[rule.match]\ncurrencies = {value}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path, channels={"console"})
    assert f"{tmp_path / 'a.toml'}:6" in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("when", "money"),
    [
        ("cpc > 0.7", ("cpc",)),
        ("spend > 100 and conversion == 0", ("spend",)),
        ("yesterday.cost_per_conversion >= 20", ("yesterday.cost_per_conversion",)),
        ("cpc * 2 > 1.4", ("cpc",)),
        ("budget < 50", ("budget",)),
        ("projected_spend > 1000", ("projected_spend",)),
        ("spend > 2 * yesterday.spend", ()),  # money against money: the same in every currency
        ("pace > 1.3 and budget_used > 0.5", ()),  # ratios
        ("ctr < 0.5 and clicks > 100", ()),  # percent and counts
        ("delta(spend) > 50", ("spend", "prev.spend")),  # a change by a fixed amount of money
    ],
)
def test_money_thresholds(when, money):
    assert money_thresholds(rule(when)) == money


USD, JPY = "7000000000000000001", "7000000000000000002"


def test_a_money_threshold_over_two_currencies_is_warned_once():
    rules = [
        rule("cpc > 0.7", name="cpc"),
        rule("cpc > 0.7", name="usd-only", match=Match(currencies=frozenset({"USD"}))),
        rule("cpc > 0.7", name="one-account", match=Match(advertiser_ids=frozenset({JPY}))),
        rule("pace > 1.3", name="ratio"),
        rule("spend > 5", name="off", enabled=False),
    ]
    lines = currency_warnings(rules, {USD: "USD", JPY: "JPY", "7000000000000000003": None})
    assert lines == [
        "rule 'cpc' compares cpc with a fixed amount but applies to accounts in 2 currencies (JPY, USD): the same "
        'number is a different amount in each; scope it to one currency ([rule.match] currencies = ["JPY"] or '
        '["USD"]) and add a copy with a threshold of its own for each other one (or scope it with advertiser_ids)'
    ]
    assert currency_warnings(rules, {USD: "USD", "7000000000000000004": "USD"}) == []
    watch = CurrencyWatch()
    assert watch.observe(USD, "USD", rules) == []
    assert watch.observe(JPY, None, rules) == []  # not known yet
    assert watch.observe(JPY, "JPY", rules) == lines
    assert watch.observe(JPY, "JPY", rules) == []  # told once
    three = lines[0].replace("2 currencies (JPY, USD)", "3 currencies (EUR, JPY, USD)")
    three = three.replace('= ["JPY"] or', '= ["EUR"], ["JPY"] or')  # every currency it applies to, none picked
    assert watch.observe("7000000000000000005", "EUR", rules) == [three]  # a new account, a new warning
