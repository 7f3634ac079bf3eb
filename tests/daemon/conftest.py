"""Fixtures shared by the daemon's tests: a sandbox API on the real clock for a daemon run as a process, and
schedulers started for a test and shut down after it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from monitor.clock import SystemClock
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.scheduler import Scheduler


@pytest.fixture
async def live_sandbox() -> AsyncIterator[Sandbox]:
    """The sandbox API with its default settings on loopback; on the real clock, as the daemon under test is (a
    test module that needs other settings defines its own ``live_sandbox``)."""
    sandbox = Sandbox(SandboxSettings(), clock=SystemClock())
    async with sandbox.serve("127.0.0.1", 0):  # sets sandbox.base_url
        yield sandbox


@pytest.fixture
async def start_scheduler() -> AsyncIterator[Callable[..., Scheduler]]:
    """``start_scheduler(**kwargs)`` builds a :class:`Scheduler` of ``kwargs`` and starts it; every one started is
    shut down (its running jobs given up to 1 s) when the test ends."""
    started: list[Scheduler] = []

    def start(**kwargs: Any) -> Scheduler:
        scheduler = Scheduler(**kwargs)
        scheduler.start()
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        await scheduler.shutdown(wait_seconds=1.0)
