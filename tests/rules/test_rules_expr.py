"""The when language, table by table: precedence, types, names, missing data, and every error message.

Each evaluation goes three ways (the engine's compiled program, the condition's own function, and a reference
tree walk) and must agree: see rules_factories.decide.
"""

from __future__ import annotations

import pytest
from rules_factories import decide, entity

from monitor.domain import Level
from monitor.rules import ExprError, compile_when

CAMPAIGN = entity(
    "campaign",
    "1800000000000001",
    name="Summer Sale",
    operation_status="ENABLE",
    secondary_status="CAMPAIGN_STATUS_ENABLE",
    budget=1000.0,
    budget_mode="BUDGET_MODE_DAY",
    today={"spend": 600.0, "clicks": 0, "impressions": 12000, "ctr": 1.25},  # no conversion data at all
    yesterday={"spend": 400.0, "cpc": 0.5, "conversion": 3},
    lifetime={"spend": 9000.5},
)
BEFORE = entity(
    "campaign",
    "1800000000000001",
    name="Summer Sale",
    operation_status="ENABLE",
    secondary_status="CAMPAIGN_STATUS_BUDGET_EXCEED",
    budget=800.0,
    budget_mode="BUDGET_MODE_DAY",
    today={"spend": 450.0, "clicks": 0, "conversion": 0},
)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # precedence and associativity: Python's
        ("1 + 2 * 3 == 7", True),
        ("(1 + 2) * 3 == 9", True),
        ("10 - 4 - 3 == 3", True),
        ("8 / 4 / 2 == 1", True),
        ("-2 * -3 == 6", True),
        ("- - 2 == 2", True),
        ("2 - -2 == 4", True),
        ("not 1 > 2 and 2 > 1", True),
        ("not (1 > 2 and 2 > 1)", True),
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("not true or true", True),
        ("not (true or true)", False),
        ("not not true", True),
        ("1 + 2 > 2 and 3 * 2 == 6 or false", True),
        # literals
        ("1_000 == 1000", True),
        ("1e3 == 1000", True),
        ("2.50 == 2.5", True),
        ('"a\\"b" != "a"', True),
        ("'x' == \"x\"", True),
        ("true == true", True),
        ("true != false", True),
        # names: metrics in the rule's window, other windows, fields, derived, time
        ("spend == 600", True),
        ("today.spend == spend", True),
        ("yesterday.cpc == 0.5", True),
        ("lifetime.spend > 9000", True),
        ("spend > 1.4 * yesterday.spend", True),
        ('name == "Summer Sale"', True),
        ('id == "1800000000000001" and campaign_id == id', True),
        ('level == "campaign"', True),
        ('advertiser_id == "7000000000000000001"', True),
        ('operation_status == "ENABLE"', True),
        ('budget_mode in ["BUDGET_MODE_DAY", "BUDGET_MODE_DYNAMIC_DAILY_BUDGET"]', True),
        ("budget == 1000", True),
        ("budget_used == 0.6", True),
        ("hour == 10", True),  # 15:00 UTC in New York
        ('weekday == "tue"', True),
        ('weekday in ["sat", "sun"]', False),
        ("hour >= 9 and hour < 17", True),
        # functions
        ("abs(-3) == 3", True),
        ("min(spend, 100, 50) == 50", True),
        ("max(spend, 100) == 600", True),
        ("has(spend)", True),
        ("has(yesterday.conversion)", True),
        # lists
        ("clicks in [0, 1]", True),
        ("clicks not in [0, 1]", False),
        ("ctr in [1.25]", True),
        ("-1 in [-1, 2]", True),
        ('secondary_status in ["CAMPAIGN_STATUS_ENABLE", "CAMPAIGN_STATUS_BUDGET_EXCEED"]', True),
        # the previous poll is missing here: prev.x, changed() and delta() are unknown
        ("prev.spend > 0", None),
        ("changed(secondary_status)", None),
        ("not changed(secondary_status)", None),
        ("delta(spend) > 0", None),
        ("has(prev.spend)", False),
    ],
)
def test_evaluates(when, expected):
    assert decide(when, CAMPAIGN) is expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("prev.spend == 450", True),
        ("delta(spend) == 150", True),
        ("abs(delta(budget)) == 200", True),
        ("changed(secondary_status)", True),
        ('prev.secondary_status == "CAMPAIGN_STATUS_BUDGET_EXCEED"', True),
        ("changed(operation_status)", False),
        ("not changed(name)", True),
        ("changed(clicks)", False),
        ("changed(conversion)", True),  # 0 before, no data now: that is a change
        ("changed(cpc)", False),  # no data both times
        ("delta(conversion) == 0", None),
        ("prev.budget_used > 0.5", True),  # 450 / 800
        ("has(prev.conversion) and not has(conversion)", True),
    ],
)
def test_compares_with_the_previous_poll(when, expected):
    assert decide(when, CAMPAIGN, BEFORE) is expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # a value the API did not return is missing, never zero
        ("conversion == 0", None),
        ("conversion != 0", None),
        ("conversion < 1", None),
        ("not (conversion > 0)", None),  # not unknown is unknown: "no data" never turns into a match
        ("not not (conversion > 0)", None),
        ("has(conversion)", False),
        ("not has(conversion)", True),
        ("conversion in [0]", None),
        ("conversion not in [0]", None),
        # arithmetic with missing is missing; division by zero is missing
        ("conversion + 1 > 0", None),
        ("-conversion < 1", None),
        ("abs(conversion) >= 0", None),
        ("min(spend, conversion) >= 0", None),
        ("spend / clicks > 1", None),
        ("spend / (clicks * 2) > 1", None),
        ("spend / 2 == 300", True),
        # Kleene logic: false and unknown = false; true or unknown = true
        ("spend > 500 and conversion == 0", None),
        ("spend > 700 and conversion == 0", False),
        ("conversion == 0 and spend > 700", False),
        ("spend > 500 or conversion == 0", True),
        ("conversion == 0 or spend > 500", True),
        ("spend > 700 or conversion == 0", None),
        ("(conversion == 0) == true", None),
        ("spend > 500 and (conversion == 0 or clicks == 0)", True),
        ("spend > 500 and clicks == 0 and conversion == 0 and ctr > 1", None),
        ("spend > 500 and clicks == 0 and ctr > 1 and has(impressions)", True),
        ("spend > 500 and (conversion == 0 and clicks == 1)", False),
        ("spend > 700 or clicks > 0 or conversion > 0", None),
        ("spend > 700 or clicks > 0 or ctr > 2", False),
        ("last_7d.spend > 0", None),  # a window the poll did not fetch
        ("cost_per_conversion > 10", None),
    ],
)
def test_missing_data_is_not_zero(when, expected):
    assert decide(when, CAMPAIGN) is expected


def test_budget_used_is_only_for_daily_budgets():
    total = entity(budget=1000.0, budget_mode="BUDGET_MODE_TOTAL", today={"spend": 900.0})
    unlimited = entity(budget=None, budget_mode="BUDGET_MODE_INFINITE", today={"spend": 900.0})
    zero = entity(budget=0.0, budget_mode="BUDGET_MODE_DAY", today={"spend": 900.0})
    dynamic = entity(budget=1000.0, budget_mode="BUDGET_MODE_DYNAMIC_DAILY_BUDGET", today={"spend": 900.0})
    assert decide("budget_used > 0.5", total) is None
    assert decide("budget_used > 0.5", unlimited) is None
    assert decide("budget_used > 0.5", zero) is None
    assert decide("budget_used == 0.9", dynamic) is True


def test_an_entity_without_a_report_row_does_not_match_zero_conversions():
    no_row = entity(name="Brand Awareness Q3", operation_status="ENABLE")
    assert decide("conversion == 0", no_row) is None
    assert decide("spend == 0", no_row) is None
    assert decide("not has(impressions)", no_row) is True


def test_hour_and_weekday_are_the_advertisers_local_time():
    campaign = entity()
    assert decide('hour == 4 and weekday == "wed"', campaign, zone="Pacific/Auckland") is True
    assert decide('hour == 5 and weekday == "tue"', campaign, zone="Pacific/Honolulu") is True
    assert decide("hour == 15", campaign, zone="UTC") is True


def test_ids_of_each_level():
    ad = entity("ad", "1790000000000001", campaign_id="1800000000000001", adgroup_id="1810000000000001")
    assert decide('ad_id == "1790000000000001" and adgroup_id == "1810000000000001"', ad) is True
    assert decide('campaign_id == "1800000000000001" and level == "ad"', ad) is True
    adgroup = entity("adgroup", "1810000000000001", campaign_id="1800000000000001", budget=50.0)
    assert decide('adgroup_id == id and campaign_id == "1800000000000001" and budget == 50', adgroup) is True


def test_strings_missing_are_missing_too():
    nameless = entity(name=None)
    assert decide('name == "x"', nameless) is None
    assert decide('name != "x"', nameless) is None
    assert decide("has(name)", nameless) is False


# --- every error message ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "message"),
    [
        # syntax
        ("", "is empty: write a condition, like spend > 100"),
        ("   ", "is empty: write a condition, like spend > 100"),
        ("spend >", "expected a value, got the end (column 8)"),
        ("spend > 1 spend", "unexpected 'spend' after a complete expression (missing 'and' or 'or'?) (column 11)"),
        ("(spend > 1", "missing ')' for the '(' at column 1; got the end (column 11)"),
        ("spend > 1)", "')' without a matching '(' (column 10)"),
        ("a < b < c", "comparisons cannot be chained: write a < b and b < c (column 7)"),
        ("spend > 1 in [1]", "comparisons cannot be chained: write a < b and b < c (column 11)"),
        ("spend in spend", "'in' needs a list, like secondary_status in [\"A\", \"B\"]; got 'spend' (column 10)"),
        ("spend in []", "the list is empty (column 10)"),
        ("spend in [1, clicks]", "a list holds numbers or strings; got 'clicks' (column 14)"),
        ("spend in [1 2]", "expected ',' or ']' in the list, got '2' (column 13)"),
        ("spend in [1,", "the list is not closed: missing ']' (column 13)"),
        ("[1] == 1", "a list is only allowed after 'in' (column 1)"),
        ("spend[0] > 1", "subscripts are not supported: '[' is only for lists after 'in' (column 6)"),
        ("spend > and", "expected a value, got the keyword 'and' (column 9)"),
        ("spend > 1 and", "expected a value, got the end (column 14)"),
        ("has(spend", "expected ',' or ')' in the call of has(), got the end (column 10)"),
        ("yesterday. > 1", "expected a name after '.', got '>' (column 12)"),
        ("(spend).x > 1", "'.' only joins a window or prev to a name, like yesterday.cpc or prev.spend (column 8)"),
        ("x.y() > 1", "x.y cannot be called: only functions like has(x) can (column 1)"),
        ("spend && clicks", "use 'and' instead of '&&' (column 7)"),
        ("spend & clicks", "use 'and' instead of '&' (column 7)"),
        ("spend || clicks", "use 'or' instead of '||' (column 7)"),
        ("spend | clicks", "use 'or' instead of '|' (column 7)"),
        ("!has(spend)", "use 'not' instead of '!' (column 1)"),
        ("spend = 5", "use == to compare (a single = is not an operator) (column 7)"),
        ("ctr < 0.5%", "'%' is not an operator: ctr and the *_rate metrics are already in percent (write ctr < 0.5) (column 10)"),
        ("spend ** 2 > 1", "'**' is not supported: the arithmetic operators are + - * / (column 7)"),
        ("spend // 2 > 1", "'//' is not supported: the arithmetic operators are + - * / (column 7)"),
        ("spend ^ 2 > 1", "'^' is not supported: the arithmetic operators are + - * / (column 7)"),
        ("spend > 1; x", "';' is not allowed: a condition is a single expression (column 10)"),
        ("{spend}", "'{' is not allowed here: lists are written [a, b] (column 1)"),
        ("spend > $5", "unexpected character '$' (column 9)"),
        ("spend > 5 # comment", "unexpected character '#' (column 11)"),
        ("spénd > 5", "unexpected character 'é' (column 3)"),
        ("spend > 5k", "malformed number '5k' (column 9)"),
        ("spend > 1.2.3", "malformed number '1.2.3' (column 9)"),
        ("spend > 1e", "malformed number '1e' (column 9)"),
        ('name == "abc', "string is not closed (column 9)"),
        ('name == "a\\qb"', "unknown escape '\\q' in a string (known: \\\" \\' \\\\ \\n \\t) (column 11)"),
        ("True", "write true in lower case (column 1)"),
        ("spend > 1 AND clicks > 1", "write 'and' in lower case (column 11)"),
        ("conversion == None", "there is no null: has(x) tests whether x has data (column 15)"),
        ("conversion == null", "there is no null: has(x) tests whether x has data (column 15)"),
        ("(" * 70 + "true" + ")" * 70, "nested too deeply (more than 64 levels) (column 65)"),
        ("spend > " + "1" * 4000, "too long (4008 characters; at most 4000)"),
        # names
        ("spnd > 5", "unknown name 'spnd'; did you mean 'spend'? (column 1)"),
        ("Spend > 5", "unknown name 'Spend'; did you mean 'spend'? (column 1)"),
        ("xyzzy > 5", "unknown name 'xyzzy' (column 1)"),
        ("conversions == 0", "unknown name 'conversions'; use conversion (column 1)"),
        ('campaign_name == "x"', "unknown name 'campaign_name'; use name (column 1)"),
        ('status == "x"', "unknown name 'status'; use operation_status or secondary_status (column 1)"),
        ("yesterday > 1", "yesterday is a window: write yesterday.<metric>, like yesterday.spend (column 1)"),
        ("yesteday.cpc > 1", "unknown window 'yesteday'; did you mean 'yesterday'? (column 1)"),
        ("last7d.spend > 1", "unknown window 'last7d'; did you mean 'last_7d'? (column 1)"),
        ("yesterday.spnd > 1", "unknown metric 'spnd'; did you mean 'spend'? (column 1)"),
        ("yesterday.budget > 1", "budget is not a report metric, so it has no window: write budget (column 1)"),
        ("yesterday.spend.x > 1", "yesterday.spend.x: a window takes one metric name, like yesterday.spend (column 1)"),
        ("spend.today > 1", "spend has no parts: only windows (today, yesterday, last_3d, last_7d, last_14d, last_30d, lifetime, this_hour, last_hour, last_3h, last_6h) and prev take a '.' (column 1)"),
        ("prev > 1", "prev needs a name after it, like prev.spend (column 1)"),
        ("prev.prev.spend > 1", "prev.prev is not available: only the previous poll is kept (column 1)"),
        ("prev.hour > 1", "hour has no previous value: prev.x reads the entity as the previous poll saw it (column 1)"),
        ("has > 1", "has is a function: write has(x) (column 1)"),
        ('ad_id == "1"', "ad_id is not available in campaign rules (only in ad rules) (column 1)"),
        ('adgroup_id == "1"', "adgroup_id is not available in campaign rules (only in adgroup, ad rules) (column 1)"),
        # functions
        ("foo(spend) > 1", "unknown function foo(); functions are has, changed, delta, abs, min, max, baseline, stddev (column 1)"),
        ("hass(spend)", "unknown function hass(); did you mean has()? functions are has, changed, delta, abs, min, max, baseline, stddev (column 1)"),
        ("__import__('os')", "unknown function __import__(); functions are has, changed, delta, abs, min, max, baseline, stddev (column 1)"),
        ("has(spend, clicks)", "has() takes exactly one argument: has(x): true when x has data (column 1)"),
        ("has()", "has() takes exactly one argument: has(x): true when x has data (column 1)"),
        ("has(1)", "has() takes a name, like has(spend); got 1 (column 5)"),
        ("changed(spend + 1)", "changed() takes a name, like changed(spend); got spend + 1 (column 9)"),
        ("changed(prev.spend)", "changed() compares with the previous poll: prev.spend has no previous value (column 9)"),
        ("changed(hour)", "changed() compares with the previous poll: hour has no previous value (column 9)"),
        ("delta(name) > 1", "delta() needs a number; name is a string (column 7)"),
        ("min(spend) > 1", "min() needs at least two numbers, like min(a, b, ...) (column 1)"),
        ("abs(name) > 1", "abs() needs a number; name is a string (column 5)"),
        ("max(spend, name) > 1", "max() needs a number; name is a string (column 12)"),
        # baselines
        ("baseline(spend, weeks=1) > 0", "weeks is a whole number from 2 to 12; got 1 (column 23)"),
        ("baseline(spend, weeks=2.5) > 0", "weeks is a whole number from 2 to 12; got 2.5 (column 23)"),
        ("baseline(spend, weeks=spend) > 0", "weeks is a whole number from 2 to 12; got spend (column 23)"),
        ("baseline(spend, week=3) > 0", "baseline() has no argument week=; it is baseline(x, weeks=4) (column 22)"),
        ("baseline(weeks=3, spend) > 0", "a keyword argument like weeks=4 comes after the others in baseline() (column 19)"),
        ("baseline(spend, 3) > 0", "baseline() takes one metric name, like baseline(x, weeks=4) (column 1)"),
        ("stddev() > 0", "stddev() takes one metric name, like stddev(x, weeks=4) (column 1)"),
        ("baseline(reach) > 0", "baseline(reach): reach does not add up over hours, so it has no baseline (column 10)"),
        ("baseline(yesterday.spend) > 0", "baseline() reads today's metric (no other window), like baseline(x, weeks=4); got yesterday.spend (column 10)"),
        ("baseline(prev.spend) > 0", "baseline() reads today's metric (no other window), like baseline(x, weeks=4); got prev.spend (column 10)"),
        ("baseline(budget) > 0", "baseline() reads a metric of today so far, like baseline(x, weeks=4); got budget (column 10)"),
        ("has(spend=1)", "has() takes no keyword argument spend= (to compare, write ==) (column 11)"),
        ("(spend = 1)", "use == to compare (a single = is not an operator) (column 8)"),
        ("spend = 1", "use == to compare (a single = is not an operator) (column 7)"),
        ("max(spend, clicks = 1) > 0", "max() takes no keyword argument clicks= (to compare, write ==) (column 21)"),
        # types
        ("spend", "must be a condition that is true or false; this is a number (column 1)"),
        ("name", "must be a condition that is true or false; this is a string (column 1)"),
        ("spend + 1", "must be a condition that is true or false; this is a number (column 1)"),
        ("spend > 'a'", "cannot compare spend (a number) with 'a' (a string) (column 1)"),
        ("name == 5", "cannot compare name (a string) with 5 (a number) (column 1)"),
        ("has(spend) == 1", "cannot compare has(spend) (a condition (true or false)) with 1 (a number) (column 1)"),
        ("name < 'b'", "a strings can only be compared with == and != (or in [...]) (column 1)"),
        ("true > false", "a condition (true or false)s can only be compared with == and != (or in [...]) (column 1)"),
        ("spend + name > 1", "'+' needs a number; name is a string (column 9)"),
        ("-name == 1", "'-' needs a number; name is a string (column 2)"),
        ("spend and clicks > 0", "'and' needs a condition (true or false); spend is a number (did you mean spend > 0?) (column 1)"),
        ("clicks > 0 or name", "'or' needs a condition (true or false); name is a string (column 15)"),
        ("not spend", "'not' needs a condition (true or false); spend is a number (did you mean spend > 0?) (column 5)"),
        ("name in [1, 2]", "name is a string, but the list holds numbers (column 1)"),
        ("spend in ['a']", "spend is a number, but the list holds strings (column 1)"),
        ("spend in [1, 'a']", "a list must hold only numbers or only strings (column 11)"),
        ("spend / 0 > 1", "division by zero (column 1)"),
        # values that can never match
        ('weekday == "monday"', "weekday is one of mon, tue, wed, thu, fri, sat, sun; got 'monday'; did you mean 'mon'? (column 1)"),
        ('weekday in ["sat", "Sunday"]', "weekday is one of mon, tue, wed, thu, fri, sat, sun; got 'Sunday'; did you mean 'sun'? (column 20)"),
        ("hour == 24", "hour is a whole number from 0 to 23; got 24 (column 1)"),
        ("hour in [9, 9.5]", "hour is a whole number from 0 to 23; got 9.5 (column 13)"),
        ('operation_status == "ENABLED"', "operation_status is one of DELETE, DISABLE, ENABLE, FROZEN; got 'ENABLED'; did you mean 'ENABLE'? (column 1)"),
        ('budget_mode == "DAILY"', "unknown budget_mode 'DAILY' (column 1)"),
        ('level == "campaigns"', "unknown level 'campaigns'; did you mean 'campaign'? (column 1)"),
        ('secondary_status == "CAMPAIGN_STATUS_BUDGET_EXCEEDED"', "unknown secondary_status 'CAMPAIGN_STATUS_BUDGET_EXCEEDED'; did you mean 'CAMPAIGN_STATUS_BUDGET_EXCEED'? (column 1)"),
        ('secondary_status == "AD_STATUS_AUDIT_DENY"', "a campaign's secondary_status starts with CAMPAIGN_STATUS_, so it is never 'AD_STATUS_AUDIT_DENY' (column 1)"),
        ('prev.secondary_status != "ADGROUP_STATUS_DISABLE"', "a campaign's secondary_status starts with CAMPAIGN_STATUS_, so it is never 'ADGROUP_STATUS_DISABLE' (column 1)"),
    ],
)  # fmt: skip
def test_error_messages(when, message):
    with pytest.raises(ExprError) as caught:
        compile_when(when, level=Level.CAMPAIGN)
    assert str(caught.value) == message


def test_every_name_error_is_reported_at_once():
    with pytest.raises(ExprError) as caught:
        compile_when('spnd > 1 and clcks > 2 and weekday == "Mon"', level=Level.CAMPAIGN)
    assert [message for _, message in caught.value.problems] == [
        "unknown name 'spnd'; did you mean 'spend'?",
        "unknown name 'clcks'; did you mean 'clicks'?",
        "weekday is one of mon, tue, wed, thu, fri, sat, sun; got 'Mon'; did you mean 'mon'?",
    ]
    assert [pos for pos, _ in caught.value.problems] == [0, 13, 27]


@pytest.mark.parametrize("status", ["CAMPAIGN_STATUS_SOMETHING_NEW", "ADVERTISER_SOMETHING_NEW"])
def test_a_new_status_tiktok_may_add_is_accepted(status):
    """A value the rule files do not know yet, with the level's prefix (or the advertiser's, which a campaign's
    secondary_status can carry), compiles and matches exactly the entities that have it."""
    when = f'secondary_status == "{status}"'
    now_new = entity("campaign", "1800000000000001", secondary_status=status)
    assert decide(when, now_new) is True
    assert decide(when, CAMPAIGN) is False  # CAMPAIGN_STATUS_ENABLE
    assert decide(f'secondary_status != "{status}"', CAMPAIGN) is True


def test_a_misspelt_status_of_another_level_is_caught_when_the_level_is_unknown():
    with pytest.raises(ExprError, match="did you mean 'AD_STATUS_AUDIT_DENY'"):
        compile_when('secondary_status == "AD_STATUS_AUDIT_DENYY"', level=None)


def test_budget_is_not_available_for_ads():
    with pytest.raises(ExprError) as caught:
        compile_when("budget_used > 0.9 or budget > 1", level=Level.AD)
    assert [m for _, m in caught.value.problems] == [
        "budget_used is not available in ad rules (only in advertiser, campaign, adgroup rules)",
        "budget is not available in ad rules (only in advertiser, campaign, adgroup rules)",
    ]


def test_the_rule_window_is_what_bare_metric_names_read():
    condition = compile_when("spend > yesterday.spend and prev.cpc > 1", level=Level.CAMPAIGN, window="last_7d")
    assert condition.metrics() == {("last_7d", "spend"), ("yesterday", "spend"), ("last_7d", "cpc")}
    assert [r.text for r in condition.refs] == ["spend", "yesterday.spend", "prev.cpc"]
    assert condition.uses_prev


BASELINED = entity(
    "campaign",
    "1800000000000002",
    today={"spend": 600.0, "clicks": 40, "cpc": 15.0},
    baseline_4w={"spend": 250.0, "cpc": 5.0},
    stddev_4w={"spend": 50.0},
    baseline_8w={"spend": 400.0},
)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("spend > 2 * baseline(spend)", True),
        ("spend > 2 * baseline(today.spend)", True),  # today.x is x
        ("spend > 2 * baseline(spend, weeks=8)", False),  # another weeks, another value
        ("(spend - baseline(spend)) / stddev(spend) > 3", True),  # a z-score of 7
        ("cpc > 2 * baseline(cpc)", True),
        ("clicks > baseline(clicks)", None),  # no baseline of clicks: no data, never zero
        ("spend > stddev(spend, weeks=8)", None),
        ("has(spend) and not (spend < baseline(spend, weeks=3))", None),
    ],
)
def test_baselines_are_read_as_their_windows(when, expected):
    assert decide(when, BASELINED) is expected


def test_a_baseline_is_read_from_its_window_and_shown_as_written():
    condition = compile_when("spend > 2 * baseline(spend) and stddev(cpc, weeks=3) > 0", level=Level.CAMPAIGN)
    assert condition.names == ("spend", "baseline(spend)", "stddev(cpc, weeks=3)")
    assert condition.metrics() == {("today", "spend"), ("baseline_4w", "spend"), ("stddev_3w", "cpc")}
