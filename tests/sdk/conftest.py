"""Fixtures for driving TikTok's official Python SDK (``tiktok-business-api-sdk-official``, the ``sdk`` extra)
against the sandbox, served from its own thread (the SDK's urllib3 client blocks).

A test marked ``@pytest.mark.endpoints("path/", ...)`` declares the endpoints it covers (sdk_coverage reads the
declarations); after it ran, :func:`declared_endpoints_were_answered` checks the sandbox answered each of them
with success, so a declaration cannot claim what the test does not do.

Without the SDK these tests are not collected on a developer machine; with ``CI`` set they fail instead, as CI
installs the extra.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sdk_world import START

from monitor.clock import FrozenClock
from monitor.sandbox import Sandbox, SandboxSettings
from monitor.sandbox.threaded import served_in_thread

if importlib.util.find_spec("business_api_client") is None:
    if os.environ.get("CI"):
        raise ImportError("tests/sdk need the 'sdk' extra (tiktok-business-api-sdk-official); .ci/run installs it")
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(SandboxSettings(qps=1000), clock=FrozenClock(START))


@pytest.fixture(autouse=True)
def declared_endpoints_were_answered(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("endpoints")
    if marker is None:
        yield
        return
    sandbox: Sandbox = request.getfixturevalue("sandbox")
    yield
    answered = {a.path for a in sandbox.arrivals if a.http_status == 200 and a.code in (0, None)}
    missing = [p for p in marker.args if p not in answered]  # code None: an answer without envelope (a CSV)
    assert not missing, f"declared but never answered with success: {missing}"


@pytest.fixture
def api_client(sandbox: Sandbox) -> Iterator[Any]:
    """The SDK's ApiClient with its base URL pointed at the sandbox (``Configuration.host``)."""
    import business_api_client

    with served_in_thread(sandbox) as url:
        config = business_api_client.Configuration()
        config.host = url
        yield business_api_client.ApiClient(config)
