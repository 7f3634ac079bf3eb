"""Fixtures for the action tests: a real SQLite store, pipelines with rules written to a tmp dir, all against
the sandbox over loopback (fixtures ``sandbox``, ``clock`` and ``make_client`` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from polling import PipelinePolls

from monitor.actions import ActionRunner, GuardSettings
from monitor.actions.breaker import Breaker
from monitor.clock import FrozenClock
from monitor.pipeline import Pipeline
from monitor.rules.loader import load_rules
from monitor.store.repo import Store


@pytest.fixture
async def store(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}", clock=clock)
    yield opened
    await opened.close()


@pytest.fixture
def make_pipeline(make_client, store: Store, clock: FrozenClock, tmp_path: Path) -> Callable[..., PipelinePolls]:
    """A pipeline with ``rules`` (TOML text) and guard settings (the circuit breaker's too: the runner has
    the store's), polled as the daemon polls (through an advertiser poller); ops messages of the act step go to
    "slack:#ops". ``on``: another store than the
    fixture's (e.g. the same database opened again)."""

    def make(rules: str, settings: GuardSettings | None = None, client=None, on: Store | None = None) -> PipelinePolls:
        directory = tmp_path / "rules"
        directory.mkdir(exist_ok=True)
        (directory / "rules.toml").write_text(rules)
        ruleset = load_rules(directory, channels={"slack"})
        client = client or make_client()
        target = on or store
        settings = settings or GuardSettings()
        breaker = Breaker(target.breaker, clock, settings)
        runner = ActionRunner(client, target.journal, clock, settings, breaker=breaker)
        pipeline = Pipeline(
            client=client,
            store=target,
            rules=lambda: ruleset,
            clock=clock,
            actions=runner,
            ops_channels=["slack:#ops"],
        )
        return PipelinePolls(pipeline, clock)

    return make
