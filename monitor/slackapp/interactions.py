"""A click's payload (Slack's ``block_actions``, as Socket Mode delivers it) -> a :class:`Click`. Pure.

Everything a click needs travels in the payload: who clicked (``user.id``, and a name to show), where (the
channel and the message's ``ts``, and its blocks to update), and the button (its ``action_id`` and ``value``,
see :mod:`monitor.slackapp.buttons`). Names from Slack are data: shown through
:func:`monitor.notify.names.display_name`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from monitor.domain import Matcher, MatcherError
from monitor.notify.names import display_name
from monitor.slackapp.buttons import APPROVE, REJECT, REVERT, SILENCES, label_of


class InteractionError(ValueError):
    """A payload that is no click of ours (another app's button, a malformed value); the message says why."""


@dataclass(frozen=True)
class SilenceCommand:
    """Silence the alerts every matcher matches for ``duration`` (``label``: "2h")."""

    matchers: tuple[Matcher, ...]
    duration: timedelta
    label: str


@dataclass(frozen=True)
class RevertCommand:
    """Undo journal entry ``journal_id``."""

    journal_id: int


@dataclass(frozen=True)
class ApprovalCommand:
    """Approve (``approve``) or reject approval ``approval_id``."""

    approval_id: str
    approve: bool


Command = SilenceCommand | RevertCommand | ApprovalCommand


@dataclass(frozen=True)
class Click:
    """Who clicked which button on which message. ``blocks`` are the message's as Slack sent them."""

    user_id: str
    user_name: str | None
    channel: str
    ts: str
    blocks: tuple[Mapping[str, Any], ...]
    action_id: str
    value: str
    command: Command

    @property
    def by(self) -> str:
        """Who, as Steering records it: ``slack:U123 (alice)``."""
        return f"slack:{self.user_id}" + (f" ({self.user_name})" if self.user_name else "")


def parse_click(payload: Mapping[str, Any]) -> Click:
    """The click in a ``block_actions`` payload; :class:`InteractionError` if it is none of ours."""
    if payload.get("type") != "block_actions":
        raise InteractionError(f"not a button click: {str(payload.get('type'))[:40]!r}")
    user = _mapping(payload, "user")
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id:
        raise InteractionError("a click without a user id")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        raise InteractionError("a click without an action")
    action = actions[0]
    action_id, value = str(action.get("action_id") or ""), str(action.get("value") or "")
    channel = _mapping(payload, "channel").get("id") or _mapping(payload, "container").get("channel_id")
    message = _mapping(payload, "message")
    ts = message.get("ts") or _mapping(payload, "container").get("message_ts")
    if not isinstance(channel, str) or not isinstance(ts, str):
        raise InteractionError("a click on no message (no channel or ts)")
    blocks = message.get("blocks")
    name = user.get("username") or user.get("name")
    return Click(
        user_id=user_id,
        user_name=display_name(name, 80) if isinstance(name, str) and name else None,
        channel=channel,
        ts=ts,
        blocks=tuple(b for b in blocks if isinstance(b, Mapping)) if isinstance(blocks, list) else (),
        action_id=action_id,
        value=value,
        command=command_of(action_id, value),
    )


def command_of(action_id: str, value: str) -> Command:
    """The command a button stands for; :class:`InteractionError` for an unknown button or a bad value."""
    data = _json(value)
    if action_id in SILENCES:
        facts = ("rule", "advertiser", "level", "entity")
        try:
            matchers = tuple(Matcher(name, str(data[name])) for name in facts if data.get(name))
        except MatcherError as exc:
            raise InteractionError(f"bad silence button: {exc}") from None
        if not any(m.name == "rule" for m in matchers):
            raise InteractionError("bad silence button: no rule")
        return SilenceCommand(matchers, SILENCES[action_id], label_of(action_id))
    if action_id == REVERT:
        journal = data.get("journal")
        if not isinstance(journal, int) or isinstance(journal, bool) or journal < 1:
            raise InteractionError("bad revert button: no journal id")
        return RevertCommand(journal)
    if action_id in (APPROVE, REJECT):
        approval = data.get("approval")
        if not isinstance(approval, str) or not 0 < len(approval) <= 64:
            raise InteractionError(f"bad {action_id} button: no approval id")
        return ApprovalCommand(approval, approve=action_id == APPROVE)
    raise InteractionError(f"unknown button {action_id[:40]!r}")


def _json(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InteractionError("a button value that is not ours (not a JSON object)")
    return data


def _mapping(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    return value if isinstance(value, Mapping) else {}
