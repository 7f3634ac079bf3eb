"""A backtest's report as people read it (a table) and as programs read it (``--json``)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from monitor.backtest.model import Firing, Report, WouldAct
from monitor.backtest.replay import by_time
from monitor.rules.engine import show

_HEADER = ("fired (UTC)", "resolved (UTC)", "rule", "entity", "values", "action")


def _time(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}"


def _entity(firing: Firing) -> str:
    text = f"{firing.level.value} {firing.entity_id}"
    return f"{text} {json.dumps(firing.entity_name, ensure_ascii=False)}" if firing.entity_name else text


def _action(action: WouldAct | None) -> str:
    if action is None:
        return ""
    return f"{action.outcome}: {action.type} ({action.reason})"


def render_table(report: Report) -> str:
    """The firings in time order, one line each, then a summary."""
    rows = [
        (
            _time(f.fired_at),
            _time(f.resolved_at) if f.resolved_at else "still firing",
            f.rule,
            _entity(f),
            ", ".join(f"{name} = {show(value)}" for name, value in f.values.items()),
            _action(f.action) if f.notified else f"(quiet: within the cooldown) {_action(f.action)}".rstrip(),
        )
        for f in by_time(report.firings)
    ]
    lines = [_heading(report)]
    if rows:
        widths = [max(len(row[i]) for row in [_HEADER, *rows]) for i in range(len(_HEADER) - 1)]
        for row in [_HEADER, *rows]:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
    lines.append(_summary(report))
    lines += [f"warning: {warning}" for warning in report.warnings]
    lines += [f"error: {error}" for error in report.errors[:20]]
    if len(report.errors) > 20:
        lines.append(f"... and {len(report.errors) - 20} more errors")
    return "\n".join(lines) + "\n"


def _heading(report: Report) -> str:
    who = ", ".join(report.advertisers) or "no advertiser"
    head = f"backtest of {who} since {_time(report.since)} UTC: "
    if report.first is None:
        return head + "no stored polls to replay (the history goes back [storage] retention); nothing was written"
    return (
        head + f"{report.polls} stored polls replayed, {_time(report.first)} to {_time(report.until)} UTC "
        f"(resolution: {report.resolution}); nothing was written"
    )


def _summary(report: Report) -> str:
    notified = sum(1 for f in report.firings if f.notified)
    resolved = sum(1 for f in report.firings if f.resolved_at is not None)
    outcomes = Counter(a.outcome for a in report.actions)
    acts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "none"
    return f"{len(report.firings)} firings ({notified} notified, {resolved} resolved); actions: {acts}"


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON values: times in ISO 8601 UTC."""
    return {
        "since": _iso(report.since),
        "first": _iso(report.first),
        "until": _iso(report.until),
        "advertisers": report.advertisers,
        "polls": report.polls,
        "resolution": report.resolution,
        "firings": [_firing(f) for f in by_time(report.firings)],
        "actions": [_would(a) for a in report.actions],
        "errors": report.errors,
        "warnings": report.warnings,
    }


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _firing(f: Firing) -> dict[str, Any]:
    return {
        "advertiser_id": f.advertiser_id,
        "rule": f.rule,
        "severity": f.severity,
        "level": f.level.value,
        "entity_id": f.entity_id,
        "entity_name": f.entity_name,
        "fired_at": _iso(f.fired_at),
        "resolved_at": _iso(f.resolved_at),
        "notified": f.notified,
        "repeats": f.repeats,
        "values": dict(f.values),
        "reason": f.reason,
        "action": None if f.action is None else _would(f.action),
    }


def _would(a: WouldAct) -> dict[str, Any]:
    return {
        "advertiser_id": a.advertiser_id,
        "at": _iso(a.at),
        "rule": a.rule,
        "type": a.type,
        "level": a.level.value,
        "entity_id": a.entity_id,
        "entity_name": a.entity_name,
        "outcome": a.outcome,
        "reason": a.reason,
        "before": dict(a.before),
        "after": dict(a.after),
    }
