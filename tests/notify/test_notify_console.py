"""The demo's terminal channel: the text rendering, and printing while also delivering elsewhere."""

from __future__ import annotations

import io

from notify_factories import alert

from monitor.notify import Templates
from monitor.notify.console import AlsoOnConsole, ConsoleChannel


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[object, str | None, str | None]] = []

    async def send(self, message: object, target: str | None, *, delivery_id: str | None = None) -> None:
        self.sent.append((message, target, delivery_id))


async def test_console_prints_the_subject_and_text():
    stream = io.StringIO()
    message = alert()
    await ConsoleChannel(Templates(), stream).send(message, "#ads", delivery_id="d1")
    printed = stream.getvalue()
    assert Templates().subject(message) in printed
    assert "-> #ads" in printed


async def test_also_on_console_prints_and_delivers():
    stream, other = io.StringIO(), Recorder()
    message = alert()
    await AlsoOnConsole(ConsoleChannel(Templates(), stream), other).send(message, None, delivery_id="d2")
    assert Templates().subject(message) in stream.getvalue()
    assert other.sent == [(message, None, "d2")]
