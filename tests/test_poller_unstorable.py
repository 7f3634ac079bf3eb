"""A poll whose metrics the store refuses (a NaN, an infinity) fails and is told as the advertiser's problem, as any
other failure of its data: it is not a database problem, so not left to a log line and /healthz alone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from polling import ToldMessages

from monitor.clock import FrozenClock
from monitor.notify.ops import OpsKind, OpsPolicy
from monitor.notify.problems import ProblemBook
from monitor.pipeline import Pipeline
from monitor.poll_stages import Progress
from monitor.poller import AdvertiserPoller
from monitor.polls import PollResult, PollSummary
from monitor.store import Store
from monitor.store.errors import UnstorableMetricsError
from monitor.tiktok.models import AdvertiserInfo

ADV = "7000000000000000001"


class _RefusedMetrics(Pipeline):
    """The pipeline as it fails when the store refuses a poll's metrics (the fetch makes none it refuses)."""

    async def poll(self, info: AdvertiserInfo, now: datetime, progress: Progress | None = None) -> PollSummary:
        raise UnstorableMetricsError("ad a1: metric values must be finite numbers, strings or None, in window today")


async def test_metrics_the_store_refuses_are_told_as_the_advertisers_problem(
    make_client, tmp_path: Path, clock: FrozenClock
) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")
    told = ToldMessages()

    pipeline = _RefusedMetrics(client=make_client(), store=store, rules=lambda: None, clock=clock)  # type: ignore[arg-type]
    problems = ProblemBook(ADV, OpsPolicy(), recorder=told)
    poller = AdvertiserPoller(ADV, pipeline=pipeline, clock_now=clock.now, problems=problems)
    outcomes = [await poller.poll() for _ in range(5)]
    assert {outcome.result for outcome in outcomes} == {PollResult.FAILED}
    assert [m.kind for m in told.messages] == [OpsKind.ADVERTISER_UNREACHABLE]
    assert "metric values must be finite" in told.messages[0].detail
    await store.close()
