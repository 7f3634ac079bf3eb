"""Field types of the configuration: validated building blocks shared by the sections in monitor.config.

Each type says in its validator what is expected, in words a user reads as ``file:line: key: message``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, SecretStr, ValidationInfo

from monitor.config_error import config_error as config_error  # the config models import it from here
from monitor.domain.budget import AMOUNT_TEXT, MAX_AMOUNT, MAX_CHANGE_PERCENT
from monitor.durations import Duration, at_least, at_most
from monitor.tomlmessages import show_value
from monitor.tomlvalidate import FromEnv

CONFIG_DIR = "config_dir"  # validation context key: the directory relative paths are resolved against


# --- field types -----------------------------------------------------------------------------------------


def _non_empty_secret(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise config_error(("", "must not be empty"))
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise config_error(("", "must not be empty"))
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise config_error(("", f"expected an http(s) URL, like 'https://example.com', got {value!r}"))
    return value


def described(value: object) -> str:
    """A value as a message shows it: strings as ``the string "yes"``, anything else as TOML writes it."""
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return 'the string "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return show_value(value)


def _integer(value: object) -> object:
    if isinstance(value, bool) or (isinstance(value, str) and not isinstance(value, FromEnv)):
        unquote = " (write numbers without quotes)" if isinstance(value, str) and value.strip().isdigit() else ""
        raise config_error(("", f"expected an integer, got {described(value)}{unquote}"))
    return value


def _boolean(value: object) -> object:
    if isinstance(value, bool | FromEnv):
        return value
    raise config_error(("", f"expected a boolean, got {described(value)} (write true or false, without quotes)"))


def _id_string(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        raise config_error(("", f'ids are strings; quote it: "{value}"'))
    return value


def _digits(value: str) -> str:
    if not (value.isascii() and value.isdigit()):
        raise config_error(("", f"expected a string of digits, got {value!r}"))
    return value


def _email_address(value: str) -> str:
    _, address = parseaddr(value)
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", address):
        raise config_error(("", f"expected an email address like 'ops@example.com', got {value!r}"))
    return value


def _relative_to_config(value: Path, info: ValidationInfo) -> Path:
    if not str(value) or str(value) == ".":
        raise config_error(("", "must not be empty"))
    value = value.expanduser()
    base = (info.context or {}).get(CONFIG_DIR)
    return value if value.is_absolute() or base is None else Path(base) / value


_CURRENCY = re.compile(r"[A-Z]{3}")
_LEVELS = ("campaign", "adgroup")


def _positive_amount(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < MAX_AMOUNT:
        return float(value)
    return None


def _min_budgets(value: object) -> object:
    """``{ BRL = 50 }`` (campaigns and ad groups) or ``{ BRL = { campaign = 250, adgroup = 100 } }``, amounts in
    that currency; returned as currency -> (campaign, ad group)."""
    if not isinstance(value, Mapping):
        raise config_error(("", f"expected a table of currencies, like {{ BRL = 50 }}, got {show_value(value)}"))
    found: dict[str, tuple[float, float]] = {}
    problems: list[tuple[str, str]] = []
    for code, amount in value.items():
        if not (isinstance(code, str) and _CURRENCY.fullmatch(code)):
            problems.append((str(code), "expected a currency code of three capital letters, like BRL"))
            continue
        if isinstance(amount, Mapping):
            unknown = [key for key in amount if key not in _LEVELS]
            levels = {key: _positive_amount(amount.get(key)) for key in _LEVELS}
            if unknown:
                problems.append((f"{code}.{unknown[0]}", "unknown key: expected campaign and adgroup"))
            for key, parsed in levels.items():
                if key not in amount:
                    problems.append((f"{code}.{key}", "required: set both campaign and adgroup (or one amount)"))
                elif parsed is None:
                    problems.append((f"{code}.{key}", f"expected a positive amount, got {show_value(amount[key])}"))
            if not unknown and None not in levels.values():
                found[code] = (levels["campaign"] or 0.0, levels["adgroup"] or 0.0)
            continue
        both = _positive_amount(amount)
        if both is None:
            problems.append(
                (code, f"expected a positive amount or {{ campaign = ..., adgroup = ... }}, got {show_value(amount)}")
            )
            continue
        found[code] = (both, both)
    if problems:
        raise config_error(*problems)
    return found


def _slack_id(*prefixes: str) -> Callable[[str], str]:
    """A Slack id check: upper-case letters and digits starting with one of ``prefixes`` (users U/W, groups S)."""

    def check(value: str) -> str:
        if not re.fullmatch(r"[A-Z0-9]{3,}", value) or not value.startswith(prefixes):
            what = "a user id like U0123ABCD" if "U" in prefixes else "a user group id like S0123ABCD"
            raise config_error(("", f"expected {what} (Slack ids, not names), got {value!r}"))
        return value

    return check


Integer = Annotated[int, BeforeValidator(_integer)]  # TOML true is not 1, "10" is not 10
Boolean = Annotated[bool, BeforeValidator(_boolean)]  # "yes" is not true
Secret = Annotated[SecretStr, AfterValidator(_non_empty_secret)]
NonEmptyStr = Annotated[str, AfterValidator(_non_empty)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
NumericId = Annotated[str, BeforeValidator(_id_string), AfterValidator(_digits)]
EmailAddress = Annotated[str, AfterValidator(_email_address)]
SlackUser = Annotated[str, AfterValidator(_slack_id("U", "W"))]
SlackGroup = Annotated[str, AfterValidator(_slack_id("S"))]
ConfigPath = Annotated[Path, AfterValidator(_relative_to_config)]
#: ``[actions] min_budget``: currency -> (campaign, ad group) minimum daily budgets.
MinBudgets = Annotated[dict[str, tuple[float, float]], BeforeValidator(_min_budgets)]


class Section(BaseModel):
    """A table of config.toml. Its validator is built when the section is first validated on its own (built in
    code, or a default of :class:`monitor.config.Settings`), not when the class is defined: a file is validated
    by ``Settings``' validator, which holds every section's schema, so each section's own one (about 1 ms of
    start-up each, issue 18) is mostly never used."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


def _unique_ids(value: list[str]) -> list[str]:
    seen: set[str] = set()
    for index, advertiser_id in enumerate(value):
        if advertiser_id in seen:
            raise config_error((str(index), f"{advertiser_id!r} is listed twice"))
        seen.add(advertiser_id)
    return value


UniqueIds = Annotated[list[NumericId], AfterValidator(_unique_ids)]


#: Upper bounds of durations and counts: longer or larger cannot be meant (typos like "1000d" or a stray digit).
HOUR, DAY, YEAR = timedelta(hours=1), timedelta(days=1), timedelta(days=366)
REQUEST = "a request that takes longer has failed"
RETRY = "a message is retried at least daily"
LONG = "longer than a year cannot be meant"
MAX_COUNT = 10_000
#: A request's timeout (TikTok, SMTP, webhook, a send): at least 1 s, at most an hour.
Timeout = Annotated[Duration, at_least(timedelta(seconds=1)), at_most(HOUR, REQUEST)]


_PERCENT_CHANGE = re.compile(r"\+?([0-9]+(?:\.[0-9]+)?)%")


def _change_limit(value: object) -> object:
    """``"+100%"`` (relative to the budget at the start of the local day) or a positive amount of money, both
    within the bounds of :mod:`monitor.domain.budget`."""
    expected = f'expected a percentage like "+100%" or an amount like 500, got {show_value(value)}'
    if isinstance(value, bool):
        raise config_error(("", expected))
    if isinstance(value, int | float):
        if not value > 0:
            raise config_error(("", f"expected a positive amount, got {show_value(value)}"))
        if not value < MAX_AMOUNT:  # also inf and a 400-digit integer, which float() would refuse
            raise config_error(("", f"must be less than {AMOUNT_TEXT} (an amount of money), got {show_value(value)}"))
        return float(value)
    if isinstance(value, str):
        match = _PERCENT_CHANGE.fullmatch(value.strip())
        if match and float(match.group(1)) > MAX_CHANGE_PERCENT:
            raise config_error(("", f"must be at most +{MAX_CHANGE_PERCENT}%, got {show_value(value)}"))
        if match and float(match.group(1)) > 0:
            return value.strip()
    raise config_error(("", expected))


ChangeLimit = Annotated[str | float, BeforeValidator(_change_limit)]
