"""A page of campaign|adgroup|ad/get read straight into tuples (monitor.tiktok.entity_rows) gives what the general
reader, ``Entity.from_api`` over ``data.rows()``, gives for every page: the same values of the same types, or the
same error naming the same field."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.domain import Level
from monitor.tiktok.client_entities import deduplicated
from monitor.tiktok.entity_rows import entity_fields, read_page
from monitor.tiktok.models import Entity
from monitor.tiktok.shape import Fields, Where

ADV = "7000000000000000001"
LISTED = (Level.CAMPAIGN, Level.ADGROUP, Level.AD)
KEYS = (
    "advertiser_id", "campaign_id", "adgroup_id", "ad_id", "campaign_name", "adgroup_name", "ad_name",
    "operation_status", "secondary_status", "budget", "budget_mode", "campaign_automation_type", "modify_time",
)  # fmt: skip

ids = st.sampled_from([ADV, "1", "71000000000000000", "7100000000000000001", " 9 ", "x"]).map(
    lambda i: "".join(list(i))
)
TEXTS = ["ENABLE", "DISABLE", "AD_STATUS_DELIVERY_OK", "BUDGET_MODE_DAY", "UPGRADED_SMART_PLUS", "Summer - 1", "é"]
texts = st.sampled_from(TEXTS).map(lambda text: "".join(list(text)))  # new string objects, as JSON decodes them
ODD = [
    None, True, False, "", " ", "\t\n", "\u3000", "-", "--", "12.50", "1,000", "lots", "nan", [1], {"amount": 5},
    0, 7, -3, 2**53, 2**53 + 1, 10**400, 0.0, -0.0, 12.5, float("nan"), float("inf"), "ENABLE", ADV,
]  # fmt: skip
numbers = st.one_of(
    st.integers(min_value=-(2**60), max_value=2**60),
    st.sampled_from([0, 2**53, 2**53 + 1, -(2**53) - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 12.5]),
)
odd = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["", " ", "\t\n", "\u3000", "-", "--", "12.50", "1,000", "lots", "nan", "inf"]),
    st.just([1]),
    st.just({"amount": 5}),
    st.text(max_size=3),
)
values = st.one_of(ids, texts, numbers, odd)


@st.composite
def rows(draw: st.DrawFn, level: Level) -> Any:
    if draw(st.integers(0, 30)) == 0:
        return draw(st.one_of(numbers, odd))  # not an object
    usual: dict[str, Any] = {level.id_field: draw(ids), level.name_field: draw(texts)}
    if level is not Level.CAMPAIGN:
        usual["campaign_id"] = draw(ids)
    if level is Level.AD:
        usual["adgroup_id"] = draw(ids)
    usual.update(operation_status=draw(texts), secondary_status=draw(texts))
    if draw(st.booleans()):
        usual.update(budget=draw(st.sampled_from([None, 50.0, 1200.5, 0.0, 30])), budget_mode=draw(texts))
    if draw(st.booleans()):
        usual["advertiser_id"] = ADV
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=3)):  # some values changed, some keys removed
        if draw(st.booleans()):
            usual[key] = draw(values)
        else:
            usual.pop(key, None)
    return usual


def general(level: Level, advertiser_id: str, page: list[Any], data: Fields) -> list[Any]:
    """What the client read before: every row checked as an object, then ``Entity.from_api`` for each."""
    return [entity_fields(Entity.from_api(level, advertiser_id, row)) for row in data.rows()]


def outcome(read: Any, level: Level, advertiser_id: str, page: list[Any]) -> tuple[Any, ...]:
    data = Fields({"list": page}, "data", Where(f"{level.value}/get/", advertiser_id, "req-1", page=2))
    try:
        found = read(level, advertiser_id, page, data)
    except Exception as exc:  # the error is what is compared
        return ("raised", type(exc), str(exc), getattr(exc, "field", None))
    return ("read", found, [[type(v) for v in row] for row in found])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_page_reads_as_the_general_reader_reads_it(data: st.DataObject) -> None:
    level = data.draw(st.sampled_from(LISTED))
    page = data.draw(st.lists(rows(level), max_size=6))
    advertiser_id = data.draw(st.sampled_from([ADV, ADV, "7000000000000000002", " "]))
    assert outcome(read_page, level, advertiser_id, page) == outcome(general, level, advertiser_id, page)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_usual_pages_read_the_same_and_share_their_repeated_strings(data: st.DataObject) -> None:
    level = data.draw(st.sampled_from(LISTED))
    page = data.draw(st.lists(rows(level).filter(lambda row: type(row) is dict), max_size=6))
    found = outcome(read_page, level, ADV, page)
    assert found == outcome(general, level, ADV, page)
    if found[0] == "read":
        for row in found[1]:
            for value in (row[2], row[3], row[5], row[6], row[7]):  # statuses, budget mode, parent ids
                assert value is None or value is sys.intern(value)


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ([{"ad_id": "1"}, 5, {"ad_id": True}], "data.list[1] is a number, expected an object (page 2)"),
        ([{"ad_id": "1"}, {"ad_id": True}, 5], "data.list[2] is a number, expected an object (page 2)"),
        ([{"ad_id": "1", "budget": "x"}, {"ad_id": True}], "data.list[0].budget is 'x', expected a number"),
        ([{"ad_id": "1", "advertiser_id": "2"}], f"data.list[0].advertiser_id is 2, expected {ADV}"),
    ],
)
def test_the_error_is_the_first_the_general_reader_meets(page: list[Any], message: str) -> None:
    """Rows that are not objects first (data.rows() checks them all), then the first row with a wrong field."""
    raised = outcome(read_page, Level.AD, ADV, page)
    assert raised == outcome(general, Level.AD, ADV, page)
    assert raised[0] == "raised" and raised[2].startswith(f"ad/get/: {message}")


@pytest.mark.parametrize("level", LISTED)
def test_each_field_with_each_odd_value_reads_as_the_general_reader_reads_it(level: Level) -> None:
    usual = {
        level.id_field: "71", level.name_field: "n", "campaign_id": "1", "adgroup_id": "2", "advertiser_id": ADV,
        "operation_status": "ENABLE", "secondary_status": "S", "budget": 5.0, "budget_mode": "BUDGET_MODE_DAY",
        "campaign_automation_type": "UPGRADED_SMART_PLUS",
    }  # fmt: skip
    for key in KEYS:
        for value in ODD:
            page = [usual, {**usual, key: value}]
            assert outcome(read_page, level, ADV, page) == outcome(general, level, ADV, page), (key, value)


def test_unusual_values_the_general_reader_accepts_read_the_same() -> None:
    page = [
        {"ad_id": 7123456789012345678, "ad_name": 12, "budget": "12.50", "campaign_id": 5, "advertiser_id": int(ADV)},
        {"ad_id": "2", "budget": "-", "adgroup_id": "3"},
        {"ad_id": "3", "budget": 40, "operation_status": None},
    ]
    found = outcome(read_page, Level.AD, ADV, page)
    assert found == outcome(general, Level.AD, ADV, page)
    assert found[1] == [
        ("7123456789012345678", "12", None, None, 12.5, None, "5", None, False),
        ("2", None, None, None, None, None, None, "3", False),
        ("3", None, None, None, 40.0, None, None, None, False),
    ]


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 3)), max_size=12))
def test_a_repeated_entity_is_its_last_row_in_the_place_of_its_first(listed: list[tuple[str, int]]) -> None:
    """Pages shifted by an entity created between two reads repeat a row: one per id, as a dict of them keeps."""
    rows: list[Any] = [(entity_id, str(n), None, None, None, None, None, None, False) for entity_id, n in listed]
    expected: dict[str, Any] = {}
    for row in rows:
        expected[row[0]] = row
    assert [id(row) for row in deduplicated(rows)] == [id(row) for row in expected.values()]
