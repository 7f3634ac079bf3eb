"""How many API calls one piece of work made, when several run at once on one client.

A client's ``transport.calls`` counts every request of the process, so the difference before and after a poll
also counts the requests of polls running beside it. :func:`counting_calls` opens a counter in the current
context (asyncio tasks started inside it share it); every request the transport sends adds one to it and to
every counter around it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class CallCounter:
    """The calls made inside one :func:`counting_calls` block (``n``)."""

    __slots__ = ("n", "parent")

    def __init__(self, parent: CallCounter | None) -> None:
        self.n = 0
        self.parent = parent


_current: ContextVar[CallCounter | None] = ContextVar("monitor_api_calls", default=None)


@contextmanager
def counting_calls() -> Iterator[CallCounter]:
    """Count the requests sent inside the block (and in tasks it starts)."""
    counter = CallCounter(_current.get())
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)


def count_call() -> None:
    """One request was sent: count it in the current block and every block around it."""
    counter = _current.get()
    while counter is not None:
        counter.n += 1
        counter = counter.parent
