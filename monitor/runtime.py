"""The running monitor's objects, as the composition root (:mod:`monitor.wiring`) built them.

:class:`Runtime` holds one aiohttp session, the clients of the token accounts (:mod:`monitor.accounts`, one
app-wide rate limiter), a :class:`~monitor.pipeline.Pipeline` and action runner per token account (sharing one
circuit breaker, :class:`~monitor.actions.breaker.Breaker`, whose count is in the database), the store,
the rule book, the notification channels and the outbox sender, and one
:class:`~monitor.poller.AdvertiserPoller` per advertiser: the per-advertiser boundary, where a poll's failure
is caught, counted and told. :meth:`Runtime.poll` hands each poll to its advertiser's poller and returns its
:class:`~monitor.polls.PollOutcome`; in ``run``, only for advertisers of the shards this replica owns
(:mod:`monitor.replicas`), the others are ``not_mine``. Operational problems are kept in problem books (one per
subject) and told through :class:`~monitor.ops_alerts.OpsAlerts`; the store remembers them across restarts
(:meth:`Runtime.load_problems`), so each is told once per episode. Which advertisers are polled is
:mod:`monitor.discovery`'s; what the last stop interrupted, :mod:`monitor.interrupted`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import aiohttp

from monitor.accounts import Roster
from monitor.actions import ActionRunner, GuardSettings
from monitor.actions.base import METRIC_OUTCOME
from monitor.actions.breaker import Breaker
from monitor.adaptive import Cadence
from monitor.clock import Clock
from monitor.config import Settings
from monitor.discovery import Discovery, DiscoveryError, discover
from monitor.domain import OpsKind
from monitor.domain.approvals import Approval
from monitor.fullstore import STORAGE_SUBJECT, FullStore
from monitor.gctune import TRIM_AFTER_ENTITIES
from monitor.interrupted import report_interrupted_actions
from monitor.notify.base import Channel
from monitor.notify.channels import close_channels
from monitor.notify.outbox import Backoff, OutboxSender
from monitor.ops_alerts import OpsAlerts
from monitor.pipeline import Pipeline
from monitor.poller import AdvertiserPoller
from monitor.polls import PollOutcome, PollResult
from monitor.replicas import Replicas
from monitor.rulebook import ReloadResult, RuleBook
from monitor.rules.money import CurrencyWatch
from monitor.store.repo import Store
from monitor.tiktok.client import TikTokClient

if TYPE_CHECKING:
    from monitor.metrics import Metrics

log = logging.getLogger(__name__)


class Runtime:
    """Built by :func:`monitor.wiring.open_runtime`; always :meth:`close`."""

    def __init__(
        self,
        settings: Settings,
        *,
        session: aiohttp.ClientSession,
        clients: Mapping[str, TikTokClient],
        store: Store,
        rulebook: RuleBook,
        channels: Mapping[str, Channel],
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.store = store
        self.rulebook = rulebook
        self.currencies = CurrencyWatch()
        notify = settings.notify
        #: The operational problems and where they are told (every channel, and the operational ones).
        self.alerts = OpsAlerts(store, dict(channels), notify)
        self.clock = clock
        self.sender = OutboxSender(
            store,
            self.channels,
            clock,
            max_attempts=notify.max_attempts,
            backoff=Backoff(first=notify.retry_first, cap=notify.retry_max),
            send_timeout=notify.send_timeout.total_seconds(),
        )
        self.clients = dict(clients)
        self.roster = Roster(settings.tiktok.token_accounts(), self.clients)
        self.pipelines: dict[str, Pipeline] = {}
        guards = GuardSettings.from_config(settings.actions, settings.monitor.interval)
        self.breaker = Breaker(store.breaker, clock, guards)  # fleet-wide: every advertiser, every replica
        for name, client in self.clients.items():
            actions = ActionRunner(
                client,
                store.journal,
                clock,
                guards,
                read_only=self.roster.read_only,
                on_taken=(lambda t: metrics.action(t.planned.type, METRIC_OUTCOME[t.outcome])) if metrics else None,
                breaker=self.breaker,
            )
            self.pipelines[name] = Pipeline(
                client=client,
                store=store,
                rules=rulebook,
                clock=clock,
                group_limit=notify.group_limit,
                actions=actions,
                ops_channels=self.ops_channels,
                adaptive=self.adaptive_cadence,
            )
        first = next(iter(self.clients))
        self.client = self.clients[first]  # the first account's: for callers that need one (auth, summaries)
        self.pipeline = self.pipelines[first]
        self.actions = self.pipeline.actions
        self.pollers: dict[str, AdvertiserPoller] = {}
        #: This replica's share of the advertisers (``run`` sets it); None: every advertiser is polled here.
        self.replicas: Replicas | None = None
        #: Whether polls outside the schedule can happen (``run`` sets it: ``once`` has no next poll).
        self.extra_polls = False
        self.polling: set[str] = set()  # advertisers whose poll is running now
        #: Called after each poll of at least ``large_poll_entities`` entities (``run`` sets it:
        #: monitor.gctune.trim_malloc, the C allocator's free memory given back); None: nothing.
        self.after_large_poll: Callable[[], object] | None = None
        self.large_poll_entities = TRIM_AFTER_ENTITIES
        #: Whether polls cannot be stored (the database is full): one problem for every advertiser.
        self.full_store = FullStore(self.alerts.problems_of(STORAGE_SUBJECT))

    @property
    def channels(self) -> dict[str, Channel]:
        """Every notification channel, by name (a reload of the configuration replaces them)."""
        return self.alerts.channels

    @channels.setter
    def channels(self, channels: dict[str, Channel]) -> None:
        self.alerts.channels = channels

    @property
    def ops_channels(self) -> list[str]:
        """The channels operational messages go to (``[notify] ops_channels``, or every channel)."""
        return self.alerts.ops_channels

    @ops_channels.setter
    def ops_channels(self, ops_channels: list[str]) -> None:
        self.alerts.ops_channels = ops_channels

    async def load_problems(self) -> None:
        """Read the operational problems the store remembers (told before a restart, or by an earlier ``once``)."""
        await self.alerts.load()
        self.full_store = FullStore(self.alerts.problems_of(STORAGE_SUBJECT))

    async def report_interrupted_actions(self) -> None:
        """At start-up, after :meth:`load_problems`: tell people about the actions the last stop interrupted
        (:func:`monitor.interrupted.report_interrupted_actions`)."""
        await report_interrupted_actions(self.store, self.clock, self.alerts)

    async def close(self) -> None:
        await close_channels(self.channels)
        await self.session.close()
        await self.store.close()

    @property
    def api_calls(self) -> int:
        """API calls made so far with every token."""
        return sum(client.transport.calls for client in self.clients.values())

    def adaptive_cadence(self) -> Cadence | None:
        """The interval and least gap between polls while adaptive polling is on (``[monitor] adaptive`` in
        ``run``), else None."""
        monitor = self.settings.monitor
        if not (self.extra_polls and monitor.adaptive):
            return None
        return Cadence(monitor.interval, monitor.min_poll_gap)

    def poller(self, advertiser_id: str) -> AdvertiserPoller:
        """The advertiser's poller (made on first use), with its token account's pipeline."""
        pipeline = self.pipelines[self.roster.account_of(advertiser_id)]
        poller = self.pollers.get(advertiser_id)
        if poller is None:
            poller = AdvertiserPoller(
                advertiser_id,
                pipeline=pipeline,
                clock_now=self.clock.now,
                problems=self.alerts.problems_of(advertiser_id),
                storage=self.full_store,
                poll_timeout=self.settings.monitor.poll_deadline,
            )
            self.pollers[advertiser_id] = poller
        poller.pipeline = pipeline  # a discovery may have moved the advertiser to another token
        return poller

    async def discover(self) -> Discovery:
        """Every advertiser to poll, of every token account (run at start and hourly), each account's problem told
        (:func:`monitor.discovery.discover`)."""
        return await discover(
            self.roster, self.settings.tiktok.token_accounts(), self.rulebook, self.clock, self.alerts
        )

    async def advertiser_ids(self) -> list[str]:
        """The scheduler's discovery: :meth:`discover`'s advertisers. Raises :class:`DiscoveryError` when a
        discovery failed and no advertiser at all is known (nothing would be watched)."""
        found = await self.discover()
        if not found.advertiser_ids and found.problems:
            raise DiscoveryError(found.describe())
        return found.advertiser_ids

    def recheck(self) -> list[str]:
        """Try every paused advertiser again at its next poll (SIGHUP); returns their ids."""
        paused = [advertiser_id for advertiser_id, poller in self.pollers.items() if poller.paused]
        for advertiser_id in paused:
            self.pollers[advertiser_id].recheck()
        return paused

    async def poll(self, advertiser_id: str) -> PollOutcome:
        """One poll of the advertiser through its poller: ok, paused or failed; ``not_mine`` at once when another
        replica owns its shard. Never raises."""
        if self.replicas is not None and not self.replicas.owns(advertiser_id):
            owner = self.replicas.assignment.owner_of(advertiser_id)
            reason = f"polled by replica {owner}" if owner else "its shard has no owner yet"
            return PollOutcome(advertiser_id, PollResult.NOT_MINE, reason=reason)
        self.polling.add(advertiser_id)
        try:
            poller = self.poller(advertiser_id)
            outcome = await poller.poll()
        finally:
            self.polling.discard(advertiser_id)
        large = outcome.summary is not None and outcome.summary.entities >= self.large_poll_entities
        if large and self.after_large_poll is not None:
            self.after_large_poll()
        info = poller.info
        if info is not None:  # its currency is known: warn about money thresholds across currencies (once)
            for line in self.currencies.observe(advertiser_id, info.currency, self.rulebook.current):
                log.warning("%s", line)
        return outcome

    async def reload_rules(self, *, force: bool = False) -> ReloadResult:
        """Reload the rule files (``force``) or only when they changed; a failure keeps the old rules and is an
        operational alert, a later success its recovery message."""
        result = self.rulebook.reload() if force else self.rulebook.reload_if_changed()
        if result.changed or result.problems:
            now = self.clock.now()
            detail = "; ".join(str(p) for p in result.problems[:5])
            book = self.alerts.problems_of("rules")
            await book.observe(OpsKind.RULES_RELOAD_FAILED, bool(result.problems), now, detail=detail)  # and told
        return result

    def approval_channels(self, approval: Approval) -> list[str]:
        """Where an approval's expiry is told: the rule's channels while it is loaded and notifies, else the
        operational ones."""
        rule = self.rulebook.current.get(approval.rule)
        targets = [str(target) for target in rule.notify] if rule is not None else []
        return targets or list(self.ops_channels)
