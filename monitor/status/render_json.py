"""``tiktok-monitor status --json``: the report as JSON data. Pure.

The shape is documented in docs/status.md and docs/status.schema.json (a JSON Schema the tests validate the
output against); ``schema_version`` changes when a field is removed or changes meaning (new fields may be added
without). Times are ISO 8601 UTC strings (``2026-11-24T20:00:00Z``), durations seconds, absent values null.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from monitor.domain import Hold
from monitor.status.report import AdvertiserStatus, AlertStatus, BreakerView, StatusReport

SCHEMA_VERSION = 1


def to_json(report: StatusReport) -> dict[str, Any]:
    """The report as JSON-ready data (see docs/status.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": _iso(report.now),
        "interval_seconds": report.interval.total_seconds(),
        "replicas": list(report.replicas),
        "advertisers": [_advertiser(a) for a in report.advertisers],
        "alerts": [_alert(a) for a in report.alerts],
        "silences": [dict(s) for s in report.silences],
        "approvals": [a.to_json() for a in report.approvals],
        "holds": [_hold(h) for h in report.holds],
        "breaker": None if report.breaker is None else _breaker(report.breaker),
        "outbox": [
            {"channel": b.channel, "pending": b.pending, "retrying": b.retrying, "oldest": _iso(b.oldest)}
            for b in report.outbox
        ],
        "notes": list(report.notes),
    }


def render_json(report: StatusReport) -> str:
    """The JSON text ``status --json`` prints (indented, one trailing newline)."""
    return json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"


def _advertiser(a: AdvertiserStatus) -> dict[str, Any]:
    last = a.last_poll
    return {
        "id": a.id,
        "name": a.name,
        "last_poll": None if last is None else {"at": _iso(last.at), "outcome": last.outcome, "error": last.error},
        "next_poll_at": _iso(a.next_poll_at),
        "paused": None if a.paused is None else {"reason": a.paused.reason, "since": _iso(a.paused.since)},
        "polled_by": a.polled_by,
        "problems": [
            {"kind": p.kind, "since": _iso(p.since), "detail": p.detail, "failures": p.failures} for p in a.problems
        ],
    }


def _alert(a: AlertStatus) -> dict[str, Any]:
    return {
        "advertiser_id": a.advertiser_id,
        "rule": a.rule,
        "severity": a.severity,
        "state": a.state,
        "level": a.level,
        "entity_id": a.entity_id,
        "entity_name": a.entity_name,
        "since": _iso(a.since),
        "last_notified_at": _iso(a.last_notified_at),
        "values": dict(a.values),
    }


def _hold(h: Hold) -> dict[str, Any]:
    return {
        "id": h.id,
        "advertiser_id": h.advertiser_id,
        "level": h.level.value,
        "entity_id": h.entity_id,
        "field": h.field,
        "value": h.value,
        "since": _iso(h.since),
        "until": _iso(h.until),
        "created_by": h.by,
        "comment": h.comment,
        "journal_id": h.journal_id,
    }


def _breaker(b: BreakerView) -> dict[str, Any]:
    return {
        "open": b.open,
        "writes": b.writes,
        "max_writes": b.max_writes,
        "window_seconds": b.window.total_seconds(),
        "counted_from": _iso(b.counted_from),
        "opened_at": _iso(b.opened_at),
        "reason": b.reason,
        "closes_at": _iso(b.closes_at),
        "held_count": b.held_count,
        "closed_at": _iso(b.closed_at),
        "closed_by": b.closed_by,
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
