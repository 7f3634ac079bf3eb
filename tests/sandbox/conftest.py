"""Fixtures: a sandbox on a frozen clock, served over real loopback HTTP, and a raw-HTTP helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from sandbox_http import START, Api

from monitor.clock import FrozenClock
from monitor.sandbox import Sandbox, SandboxSettings


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def make_sandbox(clock: FrozenClock) -> Callable[..., Sandbox]:
    def make(**overrides: Any) -> Sandbox:
        settings = {"qps": 1000, **overrides}  # tests fire requests fast; the limiter test sets qps itself
        return Sandbox(SandboxSettings(**settings), clock=clock)

    return make


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Sandbox], Any]]:
    """``api = await serve(sb)``: serve a sandbox for the test and get a raw-HTTP helper for it."""
    async with aiohttp.ClientSession() as session, AsyncExitStack() as stack:

        async def start(sb: Sandbox) -> Api:
            return Api(session, await stack.enter_async_context(sb.serve()))

        yield start


@pytest.fixture
async def api(sandbox: Sandbox, serve: Callable[[Sandbox], Any]) -> Api:
    return await serve(sandbox)
