"""A rule's ``action`` as written in a rule file, checked into a :class:`~monitor.rules.model.Action`.

``"pause"``, ``"enable"``, or a table: ``{ type = "scale_budget", by = "+20%", min = 50, max = 2000 }``,
``{ type = "set_budget", to = 150 }``. Every problem is found at once, each at its key (``action.by``); what the
rule's level cannot do is refused here (advertisers are not changed, ads have no budget).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic_core import PydanticCustomError

from monitor.config_error import config_error
from monitor.domain import Level
from monitor.domain.budget import AMOUNT_TEXT, MAX_AMOUNT, MAX_CHANGE_PERCENT
from monitor.rules.model import ACTION_TYPES, Action
from monitor.rules.validation import one_of
from monitor.tomlmessages import show_value

_PERCENT = re.compile(r"([+-])(\d+(?:\.\d+)?)%")

_ACTION_KEYS = {
    "pause": ("type",),
    "enable": ("type",),
    "scale_budget": ("type", "by", "min", "max"),
    "set_budget": ("type", "to"),
}


def parse_action(value: object, level: Level | None) -> Action:
    """An action as written: ``"pause"``, ``"enable"``, ``{type = "scale_budget", by = "+20%", max = 2000}``,
    ``{type = "set_budget", to = 150}``. ``level`` (None: unknown) rules out what the level cannot do."""
    table: dict[str, Any] = {"type": value} if isinstance(value, str) else value if isinstance(value, dict) else {}
    if not table:
        expected = 'expected "pause", "enable" or a table like { type = "set_budget", to = 150 }'
        raise config_error(("", f"{expected}, got {show_value(value)}"))
    if "type" not in table:
        raise config_error(("", f"required: set type ({', '.join(ACTION_TYPES)})"))
    key = "type" if isinstance(value, dict) else ""
    try:
        kind = one_of(table["type"], ACTION_TYPES, "action")
    except PydanticCustomError as exc:
        # context is optional in pydantic-core's types; config_error() always sets it
        raise config_error((key, exc.context["problems"][0][1])) from None  # type: ignore[index]
    problems = []
    for name in table:
        if name not in _ACTION_KEYS[kind]:
            close = difflib.get_close_matches(name, _ACTION_KEYS[kind], n=1)
            takes = ", ".join(_ACTION_KEYS[kind][1:]) or "nothing else"
            hint = f"did you mean {close[0]!r}?" if close else f"{kind} takes {takes}"
            problems.append((name, f"unknown key; {hint}"))
    if level is Level.ADVERTISER:
        why = "the API changes campaigns, ad groups and ads"
        problems.append((key, f"{kind} is not available in advertiser rules: {why}"))
    elif level is Level.AD and kind.endswith("_budget"):
        why = "ads have no budget (use an adgroup or campaign rule)"
        problems.append((key, f"{kind} is not available in ad rules: {why}"))
    fields: dict[str, float] = {}
    if kind == "scale_budget":
        by = table.get("by")
        match = _PERCENT.fullmatch(by) if isinstance(by, str) else None
        if by is None:
            problems.append(("", 'required: set by, like by = "+20%"'))
        elif match is None or float(match.group(2)) == 0 or (match.group(1) == "-" and float(match.group(2)) >= 100):
            problems.append(("by", f'expected a change like "+20%" or "-10%" (more than -100%), got {show_value(by)}'))
        elif float(match.group(2)) > MAX_CHANGE_PERCENT:
            why = f"+{MAX_CHANGE_PERCENT}% is eleven times the budget"
            problems.append(("by", f"must be at most +{MAX_CHANGE_PERCENT}% ({why}), got {show_value(by)}"))
        else:
            fields["by"] = float(match.group(1) + match.group(2))
    if kind == "set_budget" and "to" not in table:
        problems.append(("", "required: set to, the new budget, like to = 150"))
    for name in ("to", "min", "max"):
        if name in table and name in _ACTION_KEYS[kind]:
            number = table[name]
            if isinstance(number, bool) or not isinstance(number, int | float) or not number > 0:
                problems.append((name, f"expected a positive number, got {show_value(number)}"))
            elif not number < MAX_AMOUNT:  # also inf, and integers too large for a float
                problems.append(
                    (name, f"must be less than {AMOUNT_TEXT} (an amount of money), got {show_value(number)}")
                )
            else:
                fields[name] = float(number)
    if "min" in fields and "max" in fields and fields["min"] > fields["max"]:
        problems.append(("min", f"min ({fields['min']:g}) is more than max ({fields['max']:g})"))
    if problems:
        raise config_error(*problems)
    return Action(kind, **fields)
