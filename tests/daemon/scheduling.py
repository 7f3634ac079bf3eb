"""Helpers for tests that run the real scheduler: a test's poll as the per-advertiser boundary reports it
(:func:`as_poller`), and waiting for what the scheduler's jobs bring about (:func:`wait_until`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from monitor.polls import PollOutcome, PollResult


def as_poller(poll: Callable[[str], Awaitable[None]]) -> Callable[[str], Awaitable[PollOutcome]]:
    """A test's poll as the per-advertiser boundary reports it: an outcome per poll, failed with the error's
    ``"ClassName: message"`` when it raises (the boundary catches; the scheduler only passes outcomes on)."""

    async def run(advertiser_id: str) -> PollOutcome:
        started = time.monotonic()
        try:
            await poll(advertiser_id)
        except Exception as exc:
            failed = PollResult.FAILED
            return PollOutcome(
                advertiser_id, failed, f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started
            )
        return PollOutcome(advertiser_id, PollResult.OK, seconds=time.monotonic() - started)

    return run


async def wait_until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Return once ``condition()`` holds, checked every 20 ms; TimeoutError after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polls state the scheduler owns; no event to wait on
            await asyncio.sleep(0.02)
