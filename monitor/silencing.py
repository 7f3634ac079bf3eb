"""``tiktok-monitor silence add | list | expire``: mute alerts for a while, see the silences, end one early.

A silence is stored (``store.silences``) and read by every poll of every replica sharing the database: the
alerts it matches keep their lifecycle (they fire, pend and resolve) but neither notify nor act; an alert still
firing when the silence ends is notified and acted on at the next poll (see :mod:`monitor.rules.lifecycle`).
Times are printed in UTC; a time given without an offset is UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from monitor.actions.base import GuardSettings
from monitor.clock import Clock, SystemClock
from monitor.config import Settings
from monitor.domain import Matcher, MatcherError, Silence
from monitor.durations import format_duration, parse_duration
from monitor.errors import ConfigError
from monitor.notify.names import display_name
from monitor.rules.loader import configured_channels, load_rules
from monitor.steering import Steering, SteeringError
from monitor.tiktok.client import TikTokClient
from monitor.wiring import open_store

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class UsageError(ValueError):
    """A silence the command line cannot make; the message says why."""


@dataclass(frozen=True)
class Request:
    """What ``silence add`` was asked: matchers as written, ``--for`` or ``--until``, ``--start``, who and why."""

    matchers: Sequence[str]
    duration: str | None = None
    until: str | None = None
    start: str | None = None
    comment: str | None = None
    by: str = "unknown"


def parse_time(text: str, option: str) -> datetime:
    """``2026-12-06T18:00Z``, ``2026-12-06 18:00+01:00`` or ``2026-12-06T18:00`` (UTC when no offset)."""
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected a time like 2026-12-06T18:00Z (UTC when no offset)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def make_silence(request: Request, now: datetime) -> Silence:
    """The silence ``request`` describes at ``now``. Raises :class:`UsageError` (or :class:`MatcherError`)."""
    matchers = tuple(Matcher.parse(text) for text in request.matchers)
    start = parse_time(request.start, "--start") if request.start else now
    if (request.duration is None) == (request.until is None):
        raise UsageError("say how long: --for 2h, or --until 2026-12-06T18:00Z (one of them)")
    if request.duration is not None:
        try:
            length = parse_duration(request.duration)
        except ValueError as exc:
            raise UsageError(f"--for {request.duration!r}: {exc}") from None
        if length <= timedelta(0):
            raise UsageError(f"--for {request.duration!r}: must be more than 0s")
        end = start + length
    else:
        assert request.until is not None
        end = parse_time(request.until, "--until")
    if end <= max(start, now):
        raise UsageError(f"the silence would end at {_utc(end)}, before it could start: nothing to silence")
    comment = request.comment.strip() if request.comment else None
    return Silence(matchers, start, end, request.by, comment or None)


async def run_silence(
    settings: Settings,
    command: str,
    *,
    request: Request | None = None,
    silence_id: int | None = None,
    include_expired: bool = False,
    by: str = "unknown",
    clock: Clock | None = None,
    out: TextIO,
    err: TextIO,
) -> int:
    """``command`` is ``add`` (``request``), ``list`` or ``expire`` (``silence_id``, ended by ``by``); prints on
    ``out`` (problems and warnings on ``err``). 0 done, 1 no such silence, 2 a silence that cannot be made. The
    changes go through :class:`monitor.steering.Steering`, as the page's and Slack's do."""
    clock = clock or SystemClock()
    now = clock.now()
    if command == "add":
        assert request is not None
        try:
            silence = make_silence(request, now)
        except (UsageError, MatcherError) as exc:
            err.write(f"{exc}\n")
            return EXIT_INVALID
        for warning in unknown_rules(settings, silence):
            err.write(f"warning: {warning}\n")
    store = await open_store(settings, clock)
    steering = Steering(store, clock, GuardSettings.from_config(settings.actions, settings.monitor.interval), _no_api)
    try:
        if command == "add":
            try:
                added = await steering.add_silence(
                    silence.matchers,
                    by=silence.created_by,
                    starts_at=silence.starts_at,
                    ends_at=silence.ends_at,
                    comment=silence.comment,
                )
            except SteeringError as exc:
                err.write(f"{exc}\n")
                return EXIT_INVALID
            out.write(f"silence #{added.id} added: {describe(added, now)}\n")
        elif command == "list":
            out.write(render(await store.silences.list(now, include_expired=include_expired), now, include_expired))
        else:
            assert silence_id is not None
            try:
                expired = await steering.expire_silence(silence_id, by=by)
            except SteeringError as exc:
                err.write(f"{exc}\n")
                return EXIT_FAILED
            if not expired.ended_now:
                out.write(f"silence #{silence_id} had already ended at {_utc(expired.silence.ends_at)}\n")
                return EXIT_OK
            was = f"(it was to end at {_utc(expired.was_to_end)})"
            out.write(f"silence #{silence_id} expired at {_utc(now)} {was}: its alerts notify and act again\n")
    finally:
        await store.close()
    return EXIT_OK


def unknown_rules(settings: Settings, silence: Silence) -> list[str]:
    """A warning for each ``rule=`` matcher naming no loaded rule (a typo would silence nothing)."""
    try:
        ruleset = load_rules(settings.monitor.rules, channels=configured_channels(settings))
    except ConfigError:
        return []  # `check` reports the rule files; the silence may be for a rule still being written
    return [
        f"no loaded rule is named {m.value!r}: this silence mutes nothing until one is"
        for m in silence.matchers
        if m.name == "rule" and not m.is_glob and m.value not in ruleset
    ]


def describe(silence: Silence, now: datetime) -> str:
    """``rule=overspend name~Summer* until 2026-12-06 07:00 UTC (2h), by alice: relaunch``."""
    matchers = " ".join(str(m) for m in silence.matchers)
    starts = f" from {_utc(silence.starts_at)}" if silence.starts_at > now else ""
    left = (silence.ends_at - max(now, silence.starts_at)).total_seconds()
    length = format_duration(timedelta(minutes=round(left / 60))) if left >= 60 else f"{left:.0f}s"
    why = f": {display_name(silence.comment)}" if silence.comment else ""
    return f"{matchers}{starts} until {_utc(silence.ends_at)} ({length}), by {display_name(silence.created_by)}{why}"


def render(silences: Sequence[Silence], now: datetime, include_expired: bool = False) -> str:
    """What ``silence list`` prints: one line per silence, by start (pending and active ones; with
    ``include_expired`` the ended ones too)."""
    if not silences:
        return "no silences\n" if include_expired else "no active or pending silences\n"
    rows = [("id", "state", "starts (UTC)", "ends (UTC)", "by", "matchers", "comment")]
    for s in silences:
        rows.append(
            (
                str(s.id),
                s.state(now),
                _utc(s.starts_at, zone=False),
                _utc(s.ends_at, zone=False),
                display_name(s.created_by) or "",  # one line: a comment or a name may come from Slack or a page
                " ".join(str(m) for m in s.matchers),
                display_name(s.comment) or "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]) for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _utc(moment: datetime, *, zone: bool = True) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}" + (" UTC" if zone else "")


async def _no_api(advertiser_id: str) -> TikTokClient:
    """Silences need no API client (only reverts do)."""
    raise SteeringError(f"no API client here (advertiser {advertiser_id})")
