"""The running monitor's objects, as the composition root (:mod:`monitor.wiring`) built them.

:class:`Runtime` holds one aiohttp session, the clients of the token accounts (:mod:`monitor.accounts`, one
app-wide rate limiter), a :class:`~monitor.pipeline.Pipeline` and action runner per token account, the store,
the rule book, the notification channels and the outbox sender, and one
:class:`~monitor.poller.AdvertiserPoller` per advertiser: the per-advertiser boundary, where a poll's failure
is caught, counted and told. :meth:`Runtime.poll` hands each poll to its advertiser's poller and returns its
:class:`~monitor.polls.PollOutcome`. Operational alert state is kept in memory (a restart may tell a problem
once more).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import aiohttp

from monitor.accounts import Roster, analyst_warnings
from monitor.actions import ActionRunner, GuardSettings
from monitor.actions.base import METRIC_OUTCOME
from monitor.clock import Clock
from monitor.config import Settings
from monitor.domain import Account
from monitor.metrics import Metrics
from monitor.notify.base import Channel
from monitor.notify.channels import close_channels
from monitor.notify.message import OperationalMessage, OpsKind, notifications
from monitor.notify.ops import OpsPolicy
from monitor.notify.outbox import Backoff, OutboxSender
from monitor.notify.problems import ProblemBook
from monitor.pipeline import Pipeline
from monitor.poller import AdvertiserPoller
from monitor.polls import PollOutcome
from monitor.rulebook import ReloadResult, RuleBook
from monitor.store.journal import Journal
from monitor.store.repo import Store
from monitor.store.values import ActionStatus
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import AdvertiserInfo

log = logging.getLogger(__name__)

#: The cooldown of an operational alert told once per episode.
TELL_ONCE_COOLDOWN_DAYS = 3650


async def interrupted_actions(journal: Journal) -> dict[str, list[str]]:
    """Pending (unfinished) journal entries per advertiser, one line each."""
    found: dict[str, list[str]] = {}
    for entry in reversed(await journal.history(statuses=[ActionStatus.PENDING], limit=None)):
        intent = entry.intent
        line = (
            f"#{entry.id} {intent.action} {intent.level.value} {intent.entity_id} at {entry.created_at:%Y-%m-%d %H:%M}"
        )
        found.setdefault(intent.advertiser_id, []).append(line)
    return found


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
        for name, client in self.clients.items():
            actions = ActionRunner(
                client,
                store.journal,
                clock,
                GuardSettings.from_config(settings.actions),
                read_only=self.roster.read_only,
                on_taken=(lambda t: metrics.action(t.planned.type, METRIC_OUTCOME[t.outcome])) if metrics else None,
            )
            self.pipelines[name] = Pipeline(
                client=client,
                store=store,
                rules=rulebook,
                clock=clock,
                group_limit=notify.group_limit,
                actions=actions,
                ops_channels=self.ops_channels,
            )
        first = next(iter(self.clients))
        self.client = self.clients[first]  # the first account's: for callers that need one (auth, summaries)
        self.pipeline = self.pipelines[first]
        self.actions = self.pipeline.actions
        self.pollers: dict[str, AdvertiserPoller] = {}
        self._rule_problems = ProblemBook("rules", self.ops_policy)

    async def report_interrupted_actions(self) -> None:
        """At start-up: journal entries still pending were interrupted (the process stopped between the API call
        and its answer). Tell people; never retry them. The next poll of each advertiser settles them."""
        found = await interrupted_actions(self.store.journal)
        now = self.clock.now()
        for advertiser_id, lines in found.items():
            record = await self.store.advertiser(advertiser_id)
            info = self.known_advertiser(advertiser_id)
            name = info.name if info else record.name if record else None
            message = OperationalMessage(
                OpsKind.ACTION_FAILED,
                advertiser_id,
                "interrupted at the last stop, outcome unknown (the next poll checks and records it): "
                + "; ".join(lines),
                now,
                now,
                advertiser=Account(advertiser_id, name),
            )
            await self.tell([message], now)

    async def close(self) -> None:
        await close_channels(self.channels)
        await self.session.close()
        await self.store.close()

    @property
    def api_calls(self) -> int:
        """API calls made so far with every token."""
        return sum(client.transport.calls for client in self.clients.values())

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
                policy=self.ops_policy,
                tell=self.tell,
                poll_timeout=self.settings.monitor.poll_deadline,
            )
            self.pollers[advertiser_id] = poller
        poller.pipeline = pipeline  # a discovery may have moved the advertiser to another token
        return poller

    async def advertiser_ids(self) -> list[str]:
        """Every advertiser to poll, of every token account: the configured ones, or every advertiser the token
        reaches when its list is empty; learns the token's role on each (run at start and hourly). Rules with
        actions that will only dry-run (analyst access) are logged as a warning."""
        assignment = await self.roster.refresh()
        analysts = assignment.analysts()
        if analysts:
            log.warning("analyst access only (every action a dry run) on advertiser(s) %s", ", ".join(analysts))
            for line in analyst_warnings(self.rulebook.current, analysts):
                log.warning("%s", line)
        return list(assignment.owners)

    async def poll(self, advertiser_id: str) -> PollOutcome:
        """One poll of the advertiser through its poller: ok, paused or failed; never raises."""
        return await self.poller(advertiser_id).poll()

    async def reload_rules(self, *, force: bool = False) -> ReloadResult:
        """Reload the rule files (``force``) or only when they changed; a failure keeps the old rules and is an
        operational alert, a later success its recovery message."""
        result = self.rulebook.reload() if force else self.rulebook.reload_if_changed()
        if result.changed or result.problems:
            now = self.clock.now()
            detail = "; ".join(str(p) for p in result.problems[:5])
            message = self._rule_problems.observe(
                OpsKind.RULES_RELOAD_FAILED, bool(result.problems), now, detail=detail
            )
            if message is not None:
                await self.tell([message], now)
        return result

    async def tell(self, messages: Sequence[OperationalMessage], now: datetime) -> None:
        """Log operational messages and enqueue them for the ops channels."""
        for message in messages:
            what = "recovered" if message.recovered else message.detail
            log.warning("operational alert %s for %s: %s", message.kind.value, message.subject, what)
            if self.ops_channels:
                await self.store.outbox.enqueue(notifications(message, self.ops_channels), now)
