"""A channel that prints messages to a terminal: ``[console]`` in the configuration (rules notify ``console``),
and what `demo` uses in place of Slack when no token is set."""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.notify.base import Channel
from monitor.notify.message import Message
from monitor.notify.templates import Templates


class ConsoleChannel:
    """Writes each message's text rendering (the e-mail text template) to ``stream``, framed by a rule line."""

    def __init__(self, templates: Templates, stream: TextIO | None = None, *, label: str = "alert") -> None:
        self._templates = templates
        self._stream = stream or sys.stdout
        self._label = label

    async def send(self, message: Message, target: str | None, *, delivery_id: str | None = None) -> None:
        rendered = self._templates.email(message)
        where = f" -> {target}" if target else ""
        header = f"── {self._label}{where}: {rendered.subject} "
        self._stream.write(f"\n{header}{'─' * max(0, 100 - len(header))}\n{rendered.text.rstrip()}\n")
        self._stream.flush()


class AlsoOnConsole:
    """A channel that prints each message on the terminal, then delivers it through ``channel`` too."""

    def __init__(self, console: ConsoleChannel, channel: Channel) -> None:
        self._console = console
        self._channel = channel

    async def send(self, message: Message, target: str | None, *, delivery_id: str | None = None) -> None:
        await self._console.send(message, target, delivery_id=delivery_id)
        await self._channel.send(message, target, delivery_id=delivery_id)

    async def aclose(self) -> None:
        close = getattr(self._channel, "aclose", None)
        if close is not None:
            await close()
