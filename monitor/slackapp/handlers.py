"""A click -> a change through :class:`~monitor.steering.Steering` -> the message updated to say who did what.

The clicker must be on the allowlist (:mod:`monitor.slackapp.allowlist`); anyone else is told so in a message
only they see (``chat.postEphemeral``) and nothing changes. A change that cannot be made (a revert the guards
refuse, an entry reverted already) is told the same way; the message stays as it was. A change that is made is
recorded with the clicker (``by="slack:U123 (alice)"``; an approval is decided through the guards as
``approvals approve`` decides it, and an expired or decided one is refused) and the message is updated
(``chat.update``): the clicked button goes, and a line says who did what ("Silenced 2h by @alice (silence #4,
until ...)").

The socket acknowledges the envelope before :meth:`ClickHandler.handle` runs (Slack wants that within 3 seconds);
this module only talks to the database (through Steering) and to Slack's Web API, so any replica handles any click.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from monitor.notify.templates import format_time, slack_escape
from monitor.slackapp.allowlist import Allowlist
from monitor.slackapp.buttons import after_click
from monitor.slackapp.interactions import ApprovalCommand, Click, InteractionError, SilenceCommand, parse_click
from monitor.steering import Steering, SteeringError

log = logging.getLogger(__name__)

REFUSED = (
    "You may not use the monitor's buttons: your Slack user ({user}) is not in its `[slack] allowed_users` "
    "or `allowed_groups`. Nothing was changed; ask whoever runs the monitor to add you."
)


class ClickHandler:
    """Handles one click at a time (several may run at once): allowlist, change, answer."""

    def __init__(self, steering: Steering, web: AsyncWebClient, allowlist: Allowlist) -> None:
        self._steering = steering
        self._web = web
        self._allowlist = allowlist

    async def handle(self, payload: Mapping[str, Any]) -> None:
        """Do what the click in ``payload`` asks, if its user may; never raises (failures are logged and told)."""
        try:
            click = parse_click(payload)
        except InteractionError as exc:
            log.info("slack: ignored an interaction: %s", exc)
            return
        if not await self._allowlist.allows(click.user_id):
            log.warning("slack: refused %s from %s: not in allowed_users or allowed_groups", click.action_id, click.by)
            await self._tell(click, REFUSED.format(user=click.user_id))
            return
        try:
            line = await self._do(click)
        except Exception:
            log.exception("slack: %s from %s failed", click.action_id, click.by)
            await self._tell(click, "Nothing was changed: the monitor failed to do it (its log says why).")
            return
        if line is not None:
            await self._update(click, line)

    async def _do(self, click: Click) -> str | None:
        """Make the change; the line saying who did what, or None when it was refused (and the clicker told)."""
        who, command = f"<@{click.user_id}>", click.command
        if isinstance(command, SilenceCommand):
            try:
                silence = await self._steering.add_silence(
                    command.matchers, by=click.by, duration=command.duration, comment="Slack button"
                )
            except SteeringError as exc:
                await self._tell(click, f"Not silenced: {exc}")
                return None
            log.info("slack: silence %s for %s made by %s", silence.describe(), command.label, click.by)
            until = format_time(silence.ends_at)
            return f"Silenced {command.label} by {who} (silence #{silence.id}, until {until})"
        if isinstance(command, ApprovalCommand):
            decide = self._steering.approve if command.approve else self._steering.reject
            decided = await decide(command.approval_id, by=click.by)
            log.info("slack: %s of #%s by %s: %s", click.action_id, command.approval_id, click.by, decided.message)
            if not decided.ok and decided.taken is None:
                await self._tell(click, slack_escape(decided.message))  # refused, nothing decided: the buttons stay
                return None
            if not decided.ok:  # this click decided it, but the guards blocked the write: the buttons go, it says why
                return f"Approved by {who}, not written: {slack_escape(decided.message)}"
            return f"{'Approved' if command.approve else 'Rejected'} by {who}: {slack_escape(decided.message)}"
        result = await self._steering.revert(command.journal_id, by=click.by)
        log.info("slack: revert of #%d asked by %s: %s", command.journal_id, click.by, result.message)
        if not result.ok:
            await self._tell(click, slack_escape(result.message))
            return None
        return f"Reverted by {who}: {slack_escape(result.message)}"

    async def _update(self, click: Click, line: str) -> None:
        blocks = after_click(click.blocks, click.action_id, click.value, line)
        try:
            await self._web.chat_update(channel=click.channel, ts=click.ts, blocks=blocks, text=line)
        except _SLACK_ERRORS as exc:
            log.warning("slack: done, but the message could not be updated: %s", _code(exc))

    async def _tell(self, click: Click, text: str) -> None:
        try:
            await self._web.chat_postEphemeral(channel=click.channel, user=click.user_id, text=text)
        except _SLACK_ERRORS as exc:
            log.warning("slack: could not tell %s: %s", click.by, _code(exc))


_SLACK_ERRORS = (SlackApiError, aiohttp.ClientError, TimeoutError, OSError)


def _code(exc: Exception) -> str:
    data = getattr(getattr(exc, "response", None), "data", None)
    return str(data.get("error")) if isinstance(data, dict) else type(exc).__name__
