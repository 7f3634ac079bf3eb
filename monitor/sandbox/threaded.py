"""A sandbox served from a thread with its own event loop, for tests and benchmarks that block their own loop.

Served with :meth:`Sandbox.serve` on the caller's event loop, the sandbox shares that loop: CPU work that blocks
it blocks the server too, and the server logs arrivals when it gets the loop back, not when they came. Served
from its own thread, it reads each request as it comes (a thread running Python code gives up the GIL at
least every switch interval, 5 ms), so its request log is what TikTok would see.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from monitor.sandbox.sandbox import Sandbox

START_TIMEOUT = 30.0


@contextmanager
def served_in_thread(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``sandbox`` from a thread of its own until the block ends; yields the base URL."""
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stop: asyncio.Event | None = None
    failure: list[BaseException] = []
    urls: list[str] = []

    async def serve() -> None:
        nonlocal stop
        stop = asyncio.Event()
        try:
            async with sandbox.serve(host=host, port=port) as url:
                urls.append(url)
                ready.set()
                await stop.wait()
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), name="sandbox", daemon=True)
    thread.start()
    ready.wait(START_TIMEOUT)
    if failure or not urls:
        thread.join(START_TIMEOUT)
        loop.close()
        raise failure[0] if failure else TimeoutError("the sandbox did not start")
    try:
        yield urls[0]
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(START_TIMEOUT)
        loop.close()
