"""Fixtures for the notification tests: real local servers (Slack API, SMTP, webhook), a real SQLite store, and
one database (SQLite file or PostgreSQL schema) that several senders share."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from notify_db import SharedDatabase
from notify_factories import ACME, NOW
from notify_fakes import SLACK_TOKEN, FakeSlack, Mailbox, WebhookReceiver, free_port
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.clock import FrozenClock
from monitor.notify import SlackChannel, Templates
from monitor.store import Store
from monitor.store.db import normalize_url
from monitor.tiktok.models import AdvertiserInfo

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
#: In CI a missing server is a failure, not a skip (as in tests/store/conftest.py).
SKIP_POSTGRES = not POSTGRES_URL and not os.environ.get("CI")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def templates() -> Templates:
    return Templates()


@pytest.fixture
def make_slack(slack: FakeSlack, templates: Templates) -> Callable[..., SlackChannel]:
    """A Slack channel talking to the local Slack API; keyword arguments override the defaults."""

    def make(**overrides: Any) -> SlackChannel:
        options: dict[str, Any] = {
            "token": SLACK_TOKEN,
            "channel": "#ads-alerts",
            "base_url": slack.api_url,
            "timeout": 5.0,
            "rate_limit_retries": 1,
        }
        options.update(overrides)
        if "webhook_url" in overrides:
            options.pop("token"), options.pop("channel")
        return SlackChannel(templates, **options)

    return make


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1: (mailbox, port)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
async def hook() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    await receiver.start()
    yield receiver
    await receiver.close()


@pytest.fixture
async def store(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'm.db'}", clock=clock, owner="test")
    await opened.upsert_advertisers([AdvertiserInfo(ACME.id, ACME.name, "STATUS_ENABLE", "USD", ACME.timezone)], NOW)
    yield opened
    await opened.close()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgres",
            id="postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(SKIP_POSTGRES, reason="TEST_POSTGRES_URL not set (CI starts PostgreSQL)"),
            ],
        ),
    ]
)
async def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SharedDatabase]:
    if request.param == "sqlite":
        yield SharedDatabase("sqlite", f"sqlite:///{tmp_path / 'shared.db'}")
        return
    if not POSTGRES_URL:
        pytest.fail("CI is set but TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL and export it")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    yield SharedDatabase("postgres", POSTGRES_URL, schema)
    engine = create_async_engine(normalize_url(POSTGRES_URL))
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()
