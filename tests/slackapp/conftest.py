"""Fixtures for the Slack buttons: the fake Slack (Socket Mode and Web API) on loopback, a real store, and the
buttons' app connected to the fake (fixtures ``sandbox``, ``clock`` and ``make_client`` come from
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from databases import DATABASES, own_database
from fake_socket_mode import APP_TOKEN, BOT_TOKEN, FakeSocketMode
from slack_sdk.web.async_client import AsyncWebClient
from slackapp_factories import ALICE, OPS_GROUP, MakeApp

from monitor.actions import GuardSettings
from monitor.clock import FrozenClock
from monitor.slackapp.allowlist import Allowlist
from monitor.slackapp.handlers import ClickHandler
from monitor.slackapp.socket import SlackApp
from monitor.steering import ClientOf, Steering
from monitor.store.repo import Store


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


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of the test's own: a SQLite file, or a new PostgreSQL database (dropped afterwards)."""
    async with own_database(request.param, tmp_path, "slackapp", "shared.db") as url:
        yield url
