"""A sandbox served from a thread with its own event loop (imported by bare name).

The in-process ``sandbox`` fixture shares the test's event loop: a test that blocks that loop would block the
server too, and the server would log arrivals when it gets the loop back, not when they came. Served from its
own thread, the sandbox reads each request as it comes (the blocked loop's thread gives up the GIL at least
every switch interval, 5 ms), so its request log is what TikTok would see.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from monitor.clock import Clock
from monitor.sandbox import Sandbox, SandboxSettings


@contextmanager
def sandbox_in_thread(settings: SandboxSettings, clock: Clock) -> Iterator[Sandbox]:
    """A served :class:`Sandbox` (``base_url`` set) whose server runs in a thread of its own until the block ends."""
    sandbox = Sandbox(settings, clock=clock)
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        try:
            async with sandbox.serve(host="127.0.0.1", port=0):
                ready.set()
                await stop.wait()
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    if failure:
        raise failure[0]
    try:
        yield sandbox
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
