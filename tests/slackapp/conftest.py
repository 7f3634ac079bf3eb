"""Fixtures for the Slack buttons: the fake Slack (Socket Mode and Web API) on loopback, a real store, and the
buttons' app connected to the fake (fixtures ``sandbox``, ``clock`` and ``make_client`` come from
tests/conftest.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fake_socket_mode import APP_TOKEN, BOT_TOKEN, FakeSocketMode
from slack_sdk.web.async_client import AsyncWebClient
from slackapp_factories import ALICE, OPS_GROUP, MakeApp
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.actions import GuardSettings
from monitor.clock import FrozenClock
from monitor.slackapp.allowlist import Allowlist
from monitor.slackapp.handlers import ClickHandler
from monitor.slackapp.socket import SlackApp
from monitor.steering import ClientOf, Steering
from monitor.store.db import normalize_url
from monitor.store.repo import Store

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
#: In CI a missing server is a failure, not a skip (as in tests/store/conftest.py).
SKIP_POSTGRES = not POSTGRES_URL and not os.environ.get("CI")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSocketMode]:
    server = FakeSocketMode()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def store(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}", clock=clock)
    yield opened
    await opened.close()


async def no_client(advertiser_id: str):  # silences need no API
    raise AssertionError(f"no client wanted for {advertiser_id}")


@pytest.fixture
async def make_app(fake: FakeSocketMode, store: Store, clock: FrozenClock) -> AsyncIterator[MakeApp]:
    """Start a buttons app connected to the fake (closed at the end), as wiring.slack_app_of builds it: allowed
    ALICE and the members of OPS_GROUP by default; ``on`` another store, ``client_of`` for reverts."""
    apps: list[SlackApp] = []

    async def make(
        *, on: Store | None = None, client_of: ClientOf = no_client, users=(ALICE,), groups=(OPS_GROUP,)
    ) -> SlackApp:
        web = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)

        async def members_of(group: str) -> list[str]:
            return list((await web.usergroups_users_list(usergroup=group)).get("users") or ())

        steering = Steering(on or store, clock, GuardSettings(), client_of)
        app = SlackApp(
            APP_TOKEN, fake.api_url, ClickHandler(steering, web, Allowlist(users, groups, members_of, clock))
        )
        apps.append(app)
        assert await app.start()
        return app

    yield make
    for app in apps:
        await app.close()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgres",
            id="postgres",
            marks=[pytest.mark.postgres, pytest.mark.skipif(SKIP_POSTGRES, reason="TEST_POSTGRES_URL not set")],
        ),
    ]
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of the test's own: a SQLite file, or a new PostgreSQL database (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    if not POSTGRES_URL:
        pytest.fail("CI is set but TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL and export it")
    name = f"slackapp_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(normalize_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.make_url(normalize_url(POSTGRES_URL)).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
