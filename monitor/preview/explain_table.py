"""``tiktok-monitor explain``'s table: one row per entity, the values read, the result, the state and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from monitor.durations import format_duration
from monitor.notify.names import display_name
from monitor.preview.explain import Explanation
from monitor.rules.engine import show
from monitor.rules.model import Rule

#: Names are cut to this many characters in the table.
NAME_WIDTH = 24


def rule_header(rule: Rule) -> str:
    """ "rule overspend (campaign): spend > 300; for 15m, cooldown 4h, action pause" """
    parts = [f"for {_span(rule.for_.total_seconds())}", f"cooldown {_span(rule.cooldown.total_seconds())}"]
    if rule.action is not None:
        parts.append(f"action {rule.action.summary()}" + (" (dry run)" if rule.dry_run else ""))
    return f"rule {rule.name} ({rule.level.value}): {rule.when.text}; {', '.join(parts)}"


def render_table(explanations: Sequence[Explanation]) -> str:
    """The rows, aligned; the reasons after the state, joined with "; "."""
    header = ("entity", "name", "values", "result", "state", "why")
    rows = [header] + [
        (
            e.entity.id,
            _cut(display_name(e.entity.name) or ""),
            ", ".join(f"{name} = {show(value)}" for name, value in e.values),
            e.result.value,
            e.state,
            "; ".join(e.why),
        )
        for e in explanations
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1] for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _cut(name: str) -> str:
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"


def _span(seconds: float) -> str:
    return format_duration(timedelta(seconds=seconds)) if seconds else "0m"
