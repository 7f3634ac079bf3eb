"""The running monitor's objects, as the composition root (:mod:`monitor.wiring`) built them.

:class:`Runtime` holds one aiohttp session, the clients of the token accounts (:mod:`monitor.accounts`, one
app-wide rate limiter), a :class:`~monitor.pipeline.Pipeline` and action runner per token account (sharing one
circuit breaker, :class:`~monitor.actions.breaker.Breaker`, whose count is in the database), the store,
the rule book, the notification channels and the outbox sender, and one
:class:`~monitor.poller.AdvertiserPoller` per advertiser: the per-advertiser boundary, where a poll's failure
is caught, counted and told. :meth:`Runtime.poll` hands each poll to its advertiser's poller and returns its
:class:`~monitor.polls.PollOutcome`; in ``run``, only for advertisers of the shards this replica owns
(:mod:`monitor.replicas`), the others are ``not_mine``. Operational problems are kept in problem books (one per
subject), which the store remembers across restarts (:meth:`Runtime.load_problems`), so each is told once per
episode.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import aiohttp

from monitor.accounts import Roster, analyst_warnings
from monitor.actions import ActionRunner, GuardSettings
from monitor.actions.base import METRIC_OUTCOME
from monitor.actions.breaker import Breaker
from monitor.adaptive import Cadence
from monitor.clock import Clock
from monitor.config import Settings
from monitor.domain import Account, OpsKind, OpsState
from monitor.domain.approvals import Approval
from monitor.errors import MonitorError
from monitor.fullstore import STORAGE_SUBJECT, FullStore
from monitor.notify.base import Channel, split_channel
from monitor.notify.channels import close_channels
from monitor.notify.message import OperationalMessage, notifications
from monitor.notify.ops import OpsPolicy
from monitor.notify.outbox import Backoff, OutboxSender
from monitor.notify.problems import ProblemBook
from monitor.pipeline import Pipeline
from monitor.poller import AdvertiserPoller
from monitor.polls import PollOutcome, PollResult
from monitor.replicas import Replicas
from monitor.rulebook import ReloadResult, RuleBook
from monitor.rules.money import CurrencyWatch
from monitor.store.errors import StoreFullError
from monitor.store.repo import Store
from monitor.store.values import ActionStatus, JournalEntry
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import AdvertiserInfo

if TYPE_CHECKING:
    from monitor.metrics import Metrics

log = logging.getLogger(__name__)

#: The cooldown of an operational alert told once per episode.
TELL_ONCE_COOLDOWN_DAYS = 3650


def interrupted_lines(entries: Iterable[JournalEntry]) -> dict[str, list[str]]:
    """Pending (unfinished) journal entries per advertiser, one line each, oldest first."""
    found: dict[str, list[str]] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        intent = entry.intent
        line = (
            f"#{entry.id} {intent.action} {intent.level.value} {intent.entity_id} at {entry.created_at:%Y-%m-%d %H:%M}"
        )
        found.setdefault(intent.advertiser_id, []).append(line)
    return found


class DiscoveryError(MonitorError):
    """Discovery failed (or found no advertiser) while no advertiser is known: nothing is watched."""


@dataclass(frozen=True)
class Discovery:
    """What one discovery found: the advertisers to poll, and the token accounts whose discovery failed (or that
    reach no advertiser), with why."""

    advertiser_ids: list[str]
    problems: Mapping[str, str]

    def describe(self) -> str:
        """``discovery failed: token account 'a': ...; token account 'b': ...``"""
        return "discovery failed: " + "; ".join(f"token account {name!r}: {why}" for name, why in self.problems.items())


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
        self.channels = dict(channels)
        self.clock = clock
        notify = settings.notify
        self.sender = OutboxSender(
            store,
            self.channels,
            clock,
            max_attempts=notify.max_attempts,
            backoff=Backoff(first=notify.retry_first, cap=notify.retry_max),
            send_timeout=notify.send_timeout.total_seconds(),
        )
        self.ops_policy = OpsPolicy(
            cooldown=notify.ops_cooldown,
            cooldowns={OpsKind.ACCOUNT_LIMITED: timedelta(days=TELL_ONCE_COOLDOWN_DAYS)},
            unreachable_after=notify.unreachable_after,
        )
        self.ops_channels = list(notify.ops_channels or self.channels)
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
        self._remembered: list[OpsState] = []  # operational problems the store remembers, read by load_problems
        self._books: dict[str, ProblemBook] = {}
        #: Whether polls cannot be stored (the database is full): one problem for every advertiser.
        self.full_store = FullStore(self.problems_of(STORAGE_SUBJECT), self.tell)

    async def load_problems(self) -> None:
        """Read the operational problems the store remembers (told before a restart, or by an earlier ``once``)."""
        self._remembered = await self.store.problems.all()
        self._books.clear()
        self.full_store = FullStore(self.problems_of(STORAGE_SUBJECT), self.tell)

    def problems_of(self, subject: str) -> ProblemBook:
        """The problem book of ``subject`` (an advertiser id, ``rules``, ``discovery:<account>``), made on first
        use from what the store remembers."""
        book = self._books.get(subject)
        if book is None:
            book = ProblemBook(subject, self.ops_policy, states=self._remembered, memory=self.store.problems)
            self._books[subject] = book
        return book

    async def report_interrupted_actions(self) -> None:
        """At start-up: journal entries still pending were interrupted (the process stopped between the API call
        and its answer). Tell people once per entry (the store remembers which were told); never retry them. The
        next poll of each advertiser settles them. Entries of advertisers another live process polls now (a
        replica, a ``run`` beside this ``once``) are in flight, not interrupted: that poll settles them."""
        now = self.clock.now()
        elsewhere = await self.store.polled_elsewhere(now)
        pending = await self.store.journal.history(statuses=[ActionStatus.PENDING], limit=None)
        told = {s.subject for s in self._remembered if s.kind is OpsKind.ACTION_FAILED}
        current = {f"journal:{entry.id}" for entry in pending}
        settled = [(OpsKind.ACTION_FAILED, subject) for subject in told - current if subject.startswith("journal:")]
        await self.store.problems.forget(settled)  # settled since they were told: nothing more to remember
        fresh = [e for e in pending if f"journal:{e.id}" not in told and e.intent.advertiser_id not in elsewhere]
        for advertiser_id, lines in interrupted_lines(fresh).items():
            record = await self.store.advertiser(advertiser_id)
            message = OperationalMessage(
                OpsKind.ACTION_FAILED,
                advertiser_id,
                "interrupted at the last stop, outcome unknown (the next poll checks and records it): "
                + "; ".join(lines),
                now,
                now,
                advertiser=Account(advertiser_id, record.name if record else None),
            )
            await self.tell([message], now)
        remembered = [OpsState(OpsKind.ACTION_FAILED, f"journal:{e.id}", now, True, now) for e in fresh]
        await self.store.problems.remember(remembered, now)

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

    def known_advertiser(self, advertiser_id: str) -> AdvertiserInfo | None:
        """The advertiser's info if a poll has read it."""
        poller = self.pollers.get(advertiser_id)
        return poller.info if poller else None

    def poller(self, advertiser_id: str) -> AdvertiserPoller:
        """The advertiser's poller (made on first use), with its token account's pipeline."""
        pipeline = self.pipelines[self.roster.account_of(advertiser_id)]
        poller = self.pollers.get(advertiser_id)
        if poller is None:
            poller = AdvertiserPoller(
                advertiser_id,
                pipeline=pipeline,
                clock_now=self.clock.now,
                problems=self.problems_of(advertiser_id),
                storage=self.full_store,
                tell=self.tell,
                poll_timeout=self.settings.monitor.poll_deadline,
            )
            self.pollers[advertiser_id] = poller
        poller.pipeline = pipeline  # a discovery may have moved the advertiser to another token
        return poller

    async def discover(self) -> Discovery:
        """Every advertiser to poll, of every token account: the configured ones, or every advertiser the token
        reaches when its list is empty; learns the token's role on each (run at start and hourly). Rules with
        actions that will only dry-run (analyst access) are logged as a warning. An account whose discovery
        failed, or that reaches no advertiser, is an operational alert (``discovery_failed``), told once; its
        recovery is told too."""
        assignment = await self.roster.refresh()
        analysts = assignment.analysts()
        if analysts:
            log.warning("analyst access only (every action a dry run) on advertiser(s) %s", ", ".join(analysts))
            for line in analyst_warnings(self.rulebook.current, analysts):
                log.warning("%s", line)
        now = self.clock.now()
        problems: dict[str, str] = {}
        for account in self.settings.tiktok.token_accounts():
            if account.advertiser_ids:
                continue  # configured: nothing is discovered
            failure = assignment.failures.get(account.name)
            if failure is None and not any(owner == account.name for owner in assignment.owners.values()):
                failure = "the token reaches no advertiser"
            if failure is not None:
                problems[account.name] = failure
            book = self.problems_of(f"discovery:{account.name}")
            detail = f"token account {account.name!r}: {failure}" if failure else ""
            message = await book.observe(OpsKind.DISCOVERY_FAILED, failure is not None, now, detail=detail)
            if message is not None:
                await self.tell([message], now)
        return Discovery(list(assignment.owners), problems)

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
            book = self.problems_of("rules")
            message = await book.observe(OpsKind.RULES_RELOAD_FAILED, bool(result.problems), now, detail=detail)
            if message is not None:
                await self.tell([message], now)
        return result

    def approval_channels(self, approval: Approval) -> list[str]:
        """Where an approval's expiry is told: the rule's channels while it is loaded and notifies, else the
        operational ones."""
        rule = self.rulebook.current.get(approval.rule)
        targets = [str(target) for target in rule.notify] if rule is not None else []
        return targets or list(self.ops_channels)

    async def tell(self, messages: Sequence[OperationalMessage], now: datetime) -> None:
        """Log operational messages and enqueue them for the ops channels."""
        for message in messages:
            what = "recovered" if message.recovered else message.detail
            log.warning("operational alert %s for %s: %s", message.kind.value, message.subject, what)
            if not self.ops_channels:
                continue
            try:
                await self.store.outbox.enqueue(notifications(message, self.ops_channels), now)
            except StoreFullError:  # the outbox cannot take it: said now, once, straight to the ops channels
                await self._send_now(message)

    async def _send_now(self, message: OperationalMessage) -> None:
        """Send ``message`` to the ops channels without the outbox (it cannot be written); a channel that fails
        is logged, not retried."""
        for spec in dict.fromkeys(self.ops_channels):
            name, target = split_channel(spec)
            channel = self.channels.get(name)
            if channel is None:
                continue
            try:
                await channel.send(message, target)
            except Exception as exc:
                log.warning("could not send operational alert %s to %s: %s", message.kind.value, spec, exc)
