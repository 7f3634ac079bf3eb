"""Fixtures shared by the daemon's tests: schedulers started for a test and shut down after it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from monitor.scheduler import Scheduler


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
