"""Polls a pipeline the way the daemon does, through an :class:`AdvertiserPoller` per advertiser, for tests that
want the summary of a poll that ran (and an exception, with the outcome's reason, for one that did not); and
:class:`ToldMessages`, a problem book's recorder that keeps what it is told in a list."""

from __future__ import annotations

from datetime import datetime

from monitor.clock import Clock
from monitor.domain import OpsKind, OpsState
from monitor.notify.message import OperationalMessage
from monitor.notify.ops import OpsPolicy
from monitor.notify.problems import ProblemBook
from monitor.pipeline import Pipeline
from monitor.poller import AdvertiserPoller
from monitor.polls import PollOutcome, PollResult, PollSummary


class ToldMessages:
    """A :class:`~monitor.notify.problems.ProblemRecorder` that remembers nothing and keeps the messages told."""

    def __init__(self) -> None:
        self.messages: list[OperationalMessage] = []

    async def record(
        self, kind: OpsKind, subject: str, state: OpsState | None, message: OperationalMessage | None, now: datetime
    ) -> None:
        if message is not None:
            self.messages.append(message)


class PollFailed(Exception):
    """The poll did not run to the end: failed or paused (the message is the outcome's reason)."""


class PipelinePolls:
    """``await polls.poll(advertiser_id)`` -> the poll's :class:`PollSummary`; operational messages are kept in
    :attr:`told`."""

    def __init__(self, pipeline: Pipeline, clock: Clock) -> None:
        self.pipeline = pipeline
        self._clock = clock
        self._pollers: dict[str, AdvertiserPoller] = {}
        self._told = ToldMessages()
        self.told = self._told.messages

    async def poll(self, advertiser_id: str) -> PollSummary:
        poller = self._pollers.get(advertiser_id)
        if poller is None:
            problems = ProblemBook(advertiser_id, OpsPolicy(), recorder=self._told)  # kept in memory only
            poller = AdvertiserPoller(
                advertiser_id, pipeline=self.pipeline, clock_now=self._clock.now, problems=problems
            )
            self._pollers[advertiser_id] = poller
        outcome = await poller.poll()
        if outcome.summary is None:
            raise PollFailed(f"{outcome.result.value}: {outcome.reason}")
        return outcome.summary


class Outcomes:
    """Poll outcomes as an advertiser poller reports them, for tests of their listeners (health, metrics): the
    failure streak is counted per advertiser, as the poller counts it."""

    def __init__(self) -> None:
        self._failures: dict[str, int] = {}

    def __call__(self, advertiser_id: str, ok: bool, seconds: float = 0.0, error: str | None = None) -> PollOutcome:
        failures = 0 if ok else self._failures.get(advertiser_id, 0) + 1
        self._failures[advertiser_id] = failures
        result = PollResult.OK if ok else PollResult.FAILED
        summary = PollSummary(advertiser_id) if ok else None
        reason = None if ok else error
        return PollOutcome(advertiser_id, result, reason, summary, consecutive_failures=failures, seconds=seconds)

    def paused(self, advertiser_id: str, reason: str, seconds: float = 0.0) -> PollOutcome:
        failures = self._failures.get(advertiser_id, 0)
        return PollOutcome(advertiser_id, PollResult.PAUSED, reason, consecutive_failures=failures, seconds=seconds)
