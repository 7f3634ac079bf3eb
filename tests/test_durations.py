from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from monitor.durations import Duration, at_least, format_duration, parse_duration

EXPECTED = 'expected a number with a unit s, m, h or d, like "90s", "5m", "4h"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("4h", timedelta(hours=4)),
        ("30d", timedelta(days=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("0s", timedelta(0)),
        ("0", timedelta(0)),
        (" 5m ", timedelta(minutes=5)),
        (0, timedelta(0)),
        (timedelta(hours=2), timedelta(hours=2)),
    ],
)
def test_parse_duration(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5x", f"'5x' is not a duration: {EXPECTED}"),
        ("", f"'' is not a duration: {EXPECTED}"),
        ("m", f"'m' is not a duration: {EXPECTED}"),
        ("5", f"'5' is not a duration: {EXPECTED}"),
        ("-5m", f"'-5m' is not a duration: {EXPECTED}"),
        ("1.5h", f"'1.5h' is not a duration: {EXPECTED}"),
        ("5 m", f"'5 m' is not a duration: {EXPECTED}"),
        ("5M", f"'5M' is not a duration: {EXPECTED}"),
        ("30m1h", "'30m1h' is not a duration: write each unit once, largest first, like \"1h30m\""),
        ("1m1m", "'1m1m' is not a duration: write each unit once, largest first, like \"1h30m\""),
        (300, '300 is not a duration: add a unit s, m, h or d, like "300s"'),
        (1.5, f"1.5 is not a duration: {EXPECTED}"),
        (True, f"true is not a duration: {EXPECTED}"),
        ("999999999999d", "'999999999999d' is too long a duration"),
    ],
)
def test_parse_duration_refuses(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(minutes=5), "5m"),
        (timedelta(days=1, hours=1), "1d1h"),
        (timedelta(milliseconds=1500), "1.5s"),
    ],
)
def test_format_duration(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 3599, 3600, 86399, 86400, 90061, 10**7])
def test_format_then_parse_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


class _Model(BaseModel):
    every: Annotated[Duration, at_least(timedelta(seconds=10))] = timedelta(minutes=5)


def test_duration_field() -> None:
    assert _Model(every="1h").every == timedelta(hours=1)  # type: ignore[arg-type]
    assert _Model().model_dump(mode="json") == {"every": "5m"}


def test_duration_field_errors_are_one_line() -> None:
    with pytest.raises(ValidationError) as caught:
        _Model(every="5x")  # type: ignore[arg-type]
    [error] = caught.value.errors()
    assert error["msg"] == f"'5x' is not a duration: {EXPECTED}"

    with pytest.raises(ValidationError) as caught:
        _Model(every="5s")  # type: ignore[arg-type]
    [error] = caught.value.errors()
    assert error["msg"] == "must be at least 10s, got '5s'"
