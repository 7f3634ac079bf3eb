"""The buttons on Slack messages (Block Kit), their values, and a message as it reads after a click. Pure.

An alert that fires (or repeats) gets "Silence 2h" and "Silence 24h": a silence of that rule for that entity
(``rule``, ``advertiser``, ``level``, ``entity``), or of the rule for the whole advertiser when the message is about
several entities. Each entity whose action awaits approval gets "Approve" and "Reject" (the approval id); each
entity whose action was carried out gets "Revert" (its journal id). A value is compact JSON,
at most :data:`VALUE_LIMIT` characters (Slack's limit); a button whose value would be longer is left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from monitor.domain import Outcome
from monitor.notify.message import AlertKind, AlertMessage, Message

#: Slack's limits: a button's value, the elements of one actions block.
VALUE_LIMIT, ELEMENTS_LIMIT = 2000, 25
#: The block that holds the buttons (and the ``block_id`` clicks name).
BLOCK_ID = "tiktok_monitor_actions"
#: action_id -> how long that silence lasts.
SILENCES = {"silence_2h": timedelta(hours=2), "silence_24h": timedelta(hours=24)}
REVERT, APPROVE, REJECT = "revert", "approve", "reject"


def encode(data: Mapping[str, Any]) -> str:
    """A button's value: compact JSON."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def button(action_id: str, text: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    """One Block Kit button."""
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "value": value,
    }
    if style is not None:
        element["style"] = style
    return element


def silence_target(message: AlertMessage) -> dict[str, str]:
    """What a silence from this message matches: the rule for the one entity, or for the whole advertiser."""
    target = {"rule": message.rule.name, "advertiser": message.advertiser.id}
    if message.total == 1:
        only = message.entities[0]
        target.update(level=only.level.value, entity=only.id)
    return target


def buttons_of(message: Message) -> list[dict[str, Any]]:
    """The buttons ``message`` carries (none for operational messages and resolved alerts without actions)."""
    if not isinstance(message, AlertMessage):
        return []
    elements: list[dict[str, Any]] = []
    if message.kind is not AlertKind.RESOLVED:
        target = encode(silence_target(message))
        elements += [button(action_id, f"Silence {label_of(action_id)}", target) for action_id in SILENCES]
    waiting = [e.action.approval_id for e in message.entities if e.action and e.action.outcome is Outcome.AWAITING]
    approvals = [a for a in waiting if a]
    for approval_id in approvals:
        suffix, value = "" if len(approvals) == 1 else f" #{approval_id}", encode({"approval": approval_id})
        elements += [
            button(APPROVE, f"Approve{suffix}", value, style="primary"),
            button(REJECT, f"Reject{suffix}", value, style="danger"),
        ]
    done = [e for e in message.entities if e.action is not None and e.action.outcome is Outcome.DONE]
    for entity in done:
        assert entity.action is not None
        if entity.action.journal_id is not None:
            text = "Revert" if len(done) == 1 else f"Revert #{entity.action.journal_id}"
            elements.append(button(REVERT, text, encode({"journal": entity.action.journal_id}), style="danger"))
    elements = [e for e in elements if len(e["value"]) <= VALUE_LIMIT]
    return elements[:ELEMENTS_LIMIT]


def actions_block(message: Message) -> list[dict[str, Any]]:
    """The actions block for ``message`` as a list of zero or one block."""
    elements = buttons_of(message)
    return [{"type": "actions", "block_id": BLOCK_ID, "elements": elements}] if elements else []


def label_of(action_id: str) -> str:
    """``silence_2h`` -> ``2h``."""
    return action_id.removeprefix("silence_")


def after_click(blocks: Sequence[Mapping[str, Any]], action_id: str, value: str, line: str) -> list[dict[str, Any]]:
    """The message's blocks after a click: the clicked button gone (with its pair: Approve and Reject of one
    approval go together; an actions block left empty goes too) and ``line`` (mrkdwn: who did what) added as a
    context block at the end."""
    gone = {APPROVE, REJECT} if action_id in (APPROVE, REJECT) else {action_id}
    updated: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("type") == "actions" and block.get("block_id") == BLOCK_ID:
            kept = [e for e in block.get("elements") or () if e.get("action_id") not in gone or e.get("value") != value]
            if kept:
                updated.append({**block, "elements": kept})
            continue
        updated.append(dict(block))
    updated.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    return updated
