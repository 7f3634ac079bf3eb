"""``tiktok-monitor status``: the report for a terminal, one screen. Pure.

Times are UTC (``20:03:12``, with the date when it is not today's) followed by how long ago or from now;
names from TikTok go through :func:`~monitor.notify.names.display_name`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.domain import Matcher, MetricValue
from monitor.domain.approvals import Approval
from monitor.durations import format_duration
from monitor.notify.names import display_name
from monitor.status.report import AdvertiserStatus, AlertStatus, BreakerView, StatusReport

#: How long a name may be on a status line.
NAME_WIDTH = 40


def render_text(report: StatusReport) -> str:
    """What ``status`` prints, ending with a newline."""
    now = report.now
    lines = [f"status at {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (polls every {format_duration(report.interval)})"]
    if report.replicas:
        lines.append(f"run: {len(report.replicas)} replica(s) alive: {', '.join(report.replicas)}")
    else:
        lines.append("run: no replica alive (nothing polls this database now; the next polls are when run would)")
    lines += ["", f"advertisers ({len(report.advertisers)})"]
    lines += [f"  {line}" for a in report.advertisers for line in _advertiser(a, now)] or ["  none known yet"]
    firing = report.alerts_in("firing", "resolving")
    pending = report.alerts_in("pending")
    lines += ["", f"alerts: {len(firing)} firing, {len(pending)} pending"]
    lines += [f"  {_alert(a, now)}" for a in [*firing, *pending]]
    lines += ["", f"silences ({len(report.silences)})"]
    lines += [f"  {_silence(s, now)}" for s in report.silences]
    lines += ["", f"waiting for approval ({len(report.approvals)})"]
    lines += [f"  {_approval(a, now)}" for a in report.approvals]
    lines += ["", f"holds ({len(report.holds)})"]
    lines += [
        f"  #{h.id} {h.level.value} {h.entity_id} {h.field} (advertiser {h.advertiser_id}): {h.describe()}"
        for h in report.holds
    ]
    if report.breaker is not None:
        lines += ["", _breaker(report.breaker, now)]
    total = sum(b.pending for b in report.outbox)
    lines += ["", f"outbox: {total} pending"]
    lines += [
        f"  {b.channel}: {b.pending} pending ({b.retrying} retrying), oldest {_when(b.oldest, now)}"
        for b in report.outbox
    ]
    if report.notes:
        lines += ["", *(f"note: {note}" for note in report.notes)]
    return "\n".join(lines) + "\n"


def _advertiser(a: AdvertiserStatus, now: datetime) -> list[str]:
    name = display_name(a.name, NAME_WIDTH)
    head = a.id + (f" {name}" if name else "")
    last = a.last_poll
    if last is None:
        polled = "not polled yet"
    else:
        polled = f"last poll {_when(last.at, now)} {last.outcome}" + (f" ({last.error})" if last.error else "")
    lines = [f"{head}: {polled}; next {_when(a.next_poll_at, now)}"]
    if a.polled_by is None and a.paused is None:
        lines.append("  not polled: no live replica owns its shard")
    if a.paused is not None:
        lines.append(f"  PAUSED since {_when(a.paused.since, now)}: {a.paused.reason}")
    lines += [
        f"  problem {p.kind} since {_when(p.since, now)}" + (f": {p.detail}" if p.detail else "")
        for p in a.problems
        if a.paused is None or p.since != a.paused.since
    ]
    return lines


def _alert(a: AlertStatus, now: datetime) -> str:
    severity = a.severity or "?"
    state = a.state.upper() if a.state in ("firing", "resolving") else a.state
    values = " ".join(f"{name}={_value(value)}" for name, value in sorted(a.values.items()))
    name = display_name(a.entity_name, NAME_WIDTH)
    entity = f"{a.level} {a.entity_id}" + (f' "{name}"' if name else "")
    return f"{state} {severity} {a.rule}: {entity} (advertiser {a.advertiser_id}) since {_when(a.since, now)}" + (
        f": {values}" if values else ""
    )


def _silence(s: Mapping[str, Any], now: datetime) -> str:
    """``#4 rule=low-ctr name~'Summer *' until 08:00:00 (in 12h) by alice: launch week`` (``from ...`` first when it
    has not started); ``s`` is :meth:`monitor.domain.Silence.to_json`."""
    what = " ".join(str(Matcher(m["name"], m["value"], bool(m.get("is_glob")))) for m in s.get("matchers") or ())
    starts, ends = _instant(s.get("starts_at")), _instant(s.get("ends_at"))
    start = f" from {_when(starts, now)}" if starts is not None and starts > now else ""
    by = f" by {display_name(s['created_by'], NAME_WIDTH)}" if s.get("created_by") else ""
    comment = f": {display_name(s['comment'])}" if s.get("comment") else ""
    return f"#{s.get('id')} {what}{start} until {_when(ends, now)}{by}{comment}"


def _instant(text: object) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else None


def _approval(a: Approval, now: datetime) -> str:
    name = display_name(a.entity_name, NAME_WIDTH)
    entity = f"{a.level.value} {a.entity_id}" + (f' "{name}"' if name else "")
    values = ", ".join(f"{k} = {v}" for k, v in a.reason.items())
    return (
        f"#{a.id} {a.change.describe()} {entity} (rule {a.rule}, advertiser {a.advertiser_id})"
        + (f": {values}" if values else "")
        + f"; expires {_when(a.expires_at, now)}: tiktok-monitor approvals approve {a.id}"
    )


def _breaker(b: BreakerView, now: datetime) -> str:
    count = f"{b.writes} of {b.max_writes} writes within {format_duration(b.window)}"
    if b.open:
        closes = f"; closes {_when(b.closes_at, now)}" if b.closes_at else ""
        return (
            f"actions breaker: OPEN since {_when(b.opened_at, now)}: {b.reason} ({b.held_count} held back{closes}; "
            f"tiktok-monitor actions resume); {count}"
        )
    return f"actions breaker: closed ({count})"


def _value(value: MetricValue) -> str:
    if value is None:
        return "no data"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _when(moment: datetime | None, now: datetime) -> str:
    """``20:03:12 (in 1m12s)``, ``19:58:00 (2m ago)``, the date too when it is not ``now``'s day."""
    if moment is None:
        return "-"
    at = moment.astimezone(UTC)
    text = f"{at:%H:%M:%S}" if at.date() == now.astimezone(UTC).date() else f"{at:%Y-%m-%d %H:%M:%S}"
    delta = timedelta(seconds=round((at - now).total_seconds()))
    if delta == timedelta(0):
        return f"{text} (now)"
    if delta > timedelta(0):
        return f"{text} (in {format_duration(delta)})"
    return f"{text} ({format_duration(-delta)} ago)"


#: A value a rule saw and a time relative to now, as ``status`` writes them (the status page shows them so too).
metric = _value
when = _when
