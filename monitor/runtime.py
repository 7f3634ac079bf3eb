"""The running monitor's objects, built from settings in one place, and its per-advertiser boundary.

:class:`Runtime` owns one aiohttp session, one app-wide rate limiter, a client (with its pipeline and action
runner) per token account (:mod:`monitor.accounts`), the store, the rule book,
the notification channels, the outbox sender and the guard rails from ``[actions]``; at start-up
it reports actions a previous run left unfinished. :meth:`Runtime.poll` is where a poll's failure is caught and
turned into an operational alert (token revoked, permission lost, advertiser unreachable), so one bad account
never stops the others, and where an account that is not active (advertiser/info status) pauses its polls;
operational alert state is kept in memory (a restart may tell a problem once more).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

import aiohttp

from monitor.accounts import Roster, analyst_warnings, build_clients
from monitor.actions import ActionRunner, GuardSettings
from monitor.actions.base import METRIC_OUTCOME
from monitor.clock import Clock, SystemClock
from monitor.config import Settings
from monitor.domain import Account
from monitor.errors import MonitorError
from monitor.metrics import Metrics
from monitor.notify.base import Channel
from monitor.notify.channels import build_channels, close_channels
from monitor.notify.message import OperationalMessage, OpsKind, notifications
from monitor.notify.ops import OpsEvent, OpsPolicy, OpsState, decide
from monitor.notify.outbox import Backoff, OutboxSender
from monitor.notify.templates import Templates
from monitor.pipeline import Pipeline, PollSummary
from monitor.rulebook import ReloadResult, RuleBook
from monitor.rules.loader import configured_channels
from monitor.store.errors import LeaseHeldError, StoreError
from monitor.store.journal import Journal
from monitor.store.repo import Store
from monitor.store.values import ActionStatus
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import ApiError, AuthError
from monitor.tiktok.models import AdvertiserInfo

log = logging.getLogger(__name__)

#: advertiser/info ``status`` of an account that may be polled (tiktok-api.md §2.3).
ACTIVE_STATUS = "STATUS_ENABLE"
#: How often the status of an account that is not active is read again.
STATUS_RECHECK = timedelta(hours=1)
#: The cooldown of an operational alert told once per episode.
TELL_ONCE = timedelta(days=3650)

#: API codes that mean the token no longer reaches this advertiser, or lacks a permission (tiktok-api.md §8.2).
PERMISSION_CODES = frozenset({40001, 40106, 40119, 40125, 40300, 40301})


def classify_failure(exc: BaseException) -> OpsKind:
    """Which operational problem a failed poll shows."""
    if isinstance(exc, AuthError):
        return OpsKind.TOKEN_REVOKED
    if isinstance(exc, ApiError) and exc.code in PERMISSION_CODES:
        return OpsKind.PERMISSION_LOST
    return OpsKind.ADVERTISER_UNREACHABLE


def build_client(settings: Settings, session: aiohttp.ClientSession, metrics: Metrics | None = None) -> TikTokClient:
    """The client of the configuration's first token account (the only one in the single-token form)."""
    return next(iter(build_clients(settings, session, metrics).values()))


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
    """Build with :meth:`open`; always :meth:`close`."""

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
            cooldowns={OpsKind.ACCOUNT_LIMITED: TELL_ONCE},
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
        self._limited: set[str] = set()  # advertisers whose account is not active: polls paused
        self._unauthorized: dict[str, datetime] = {}  # token revoked / permission lost: polls paused, last try
        self._ops: dict[tuple[OpsKind, str], OpsState] = {}
        self._failures: dict[str, int] = {}

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        channels: Mapping[str, Channel] | None = None,
        metrics: Metrics | None = None,
    ) -> Runtime:
        """Validate and build everything: rules first (a broken rule file stops start-up), then the store
        (migrating it), then the HTTP side. ``channels`` replaces the configured ones (the demo's terminal)."""
        clock = clock or SystemClock()
        rulebook = RuleBook(settings.monitor.rules, configured_channels(settings))
        store = await Store.open(settings.storage.url, retention=settings.storage.retention, clock=clock)
        session = aiohttp.ClientSession()
        try:
            clients = build_clients(settings, session, metrics)
            if channels is None:
                webhook = settings.webhook
                channels = build_channels(
                    settings,
                    Templates(settings.monitor.templates),
                    webhook_url=webhook.url.get_secret_value() if webhook else None,
                    webhook_secret=webhook.secret.get_secret_value() if webhook and webhook.secret else None,
                    webhook_timeout=webhook.timeout.total_seconds() if webhook else 10.0,
                )
            runtime = cls(
                settings,
                session=session,
                clients=clients,
                store=store,
                rulebook=rulebook,
                channels=channels,
                clock=clock,
                metrics=metrics,
            )
        except BaseException:  # nothing half-built may leak: close what was opened, in reverse order
            await session.close()
            await store.close()
            raise
        try:
            await runtime.report_interrupted_actions()
        except BaseException:
            await runtime.close()
            raise
        return runtime

    async def report_interrupted_actions(self) -> None:
        """At start-up: journal entries still pending were interrupted (the process stopped between the API call
        and its answer). Tell people; never retry them. The next poll of each advertiser settles them."""
        found = await interrupted_actions(self.store.journal)
        for advertiser_id, lines in found.items():
            info = self.known_advertiser(advertiser_id)
            record = await self.store.advertiser(advertiser_id)
            name = info.name if info else record.name if record else None
            message = OperationalMessage(
                OpsKind.ACTION_FAILED,
                advertiser_id,
                "interrupted at the last stop, outcome unknown (the next poll checks and records it): "
                + "; ".join(lines),
                self.clock.now(),
                self.clock.now(),
                advertiser=Account(advertiser_id, name),
            )
            log.warning("interrupted actions of advertiser %s: %s", advertiser_id, message.detail)
            if self.ops_channels:
                await self.store.outbox.enqueue(notifications(message, self.ops_channels), self.clock.now())

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
        return self._pipeline_of(advertiser_id).known_advertiser(advertiser_id)

    def _pipeline_of(self, advertiser_id: str) -> Pipeline:
        return self.pipelines[self.roster.account_of(advertiser_id)]

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

    async def poll(self, advertiser_id: str) -> PollSummary:
        """One poll with its operational alerts. Raises the poll's error after telling people when due.

        The account's advertiser/info status is checked first (read daily, hourly while not active): an account
        that is not STATUS_ENABLE is told once as ``account_limited`` and not polled until it is active again.
        A revoked token or lost permission is told once too, and the advertiser is then tried only hourly."""
        pipeline = self._pipeline_of(advertiser_id)
        last_try = self._unauthorized.get(advertiser_id)
        if last_try is not None and self.clock.now() - last_try < STATUS_RECHECK:
            # told once already; hammering the API with a dead token helps nobody: try again hourly
            return PollSummary(advertiser_id, paused="authorization lost: re-authorize (tiktok-monitor auth login)")
        try:
            limited = advertiser_id in self._limited
            info = await pipeline.advertiser(
                advertiser_id, self.clock.now(), max_age=STATUS_RECHECK if limited else None
            )
            if info.status and info.status != ACTIVE_STATUS:
                self._limited.add(advertiser_id)
                detail = f"advertiser/info status {info.status}: polls paused, the status is checked every hour"
                await self._tell(OpsEvent(OpsKind.ACCOUNT_LIMITED, advertiser_id, True, detail, _advertiser(info)))
                return PollSummary(advertiser_id, info.name, paused=f"account status {info.status}")
            if limited:
                self._limited.discard(advertiser_id)
                await self._tell(OpsEvent(OpsKind.ACCOUNT_LIMITED, advertiser_id, False, "", _advertiser(info)))
            summary = await pipeline.poll(advertiser_id)
        except LeaseHeldError:
            raise  # another replica polls this advertiser now: not a problem of the account
        except StoreError:
            raise  # our database, not the account: logged and shown by /healthz; telling it would need the store
        except (MonitorError, OSError) as exc:
            self._failures[advertiser_id] = self._failures.get(advertiser_id, 0) + 1
            failing = classify_failure(exc)
            if failing in (OpsKind.TOKEN_REVOKED, OpsKind.PERMISSION_LOST):
                self._unauthorized[advertiser_id] = self.clock.now()
            await self._ops_events(advertiser_id, failing, str(exc))
            raise
        self._failures.pop(advertiser_id, None)
        self._unauthorized.pop(advertiser_id, None)
        await self._ops_events(advertiser_id, None, "")
        return summary

    async def reload_rules(self, *, force: bool = False) -> ReloadResult:
        """Reload the rule files (``force``) or only when they changed; a failure keeps the old rules and is an
        operational alert, a later success its recovery message."""
        result = self.rulebook.reload() if force else self.rulebook.reload_if_changed()
        if result.changed or result.problems:
            detail = "; ".join(str(p) for p in result.problems[:5])
            await self._tell(OpsEvent(OpsKind.RULES_RELOAD_FAILED, "rules", bool(result.problems), detail))
        return result

    async def _ops_events(self, advertiser_id: str, failing: OpsKind | None, detail: str) -> None:
        info = self.known_advertiser(advertiser_id)
        advertiser = _advertiser(info) if info else None
        failures = self._failures.get(advertiser_id, 0)
        for kind in (OpsKind.TOKEN_REVOKED, OpsKind.PERMISSION_LOST, OpsKind.ADVERTISER_UNREACHABLE):
            present = kind is failing
            if present or (kind, advertiser_id) in self._ops:  # a remembered problem may have cleared
                await self._tell(OpsEvent(kind, advertiser_id, present, detail, advertiser, failures))

    async def _tell(self, event: OpsEvent, now: datetime | None = None) -> None:
        now = now or self.clock.now()
        decision = decide(event, self._ops.get((event.kind, event.subject)), now, self.ops_policy)
        if decision.state is None:
            self._ops.pop((event.kind, event.subject), None)
        else:
            self._ops[(event.kind, event.subject)] = decision.state
        if decision.message is not None:
            log.warning("operational alert %s for %s: %s", event.kind.value, event.subject, decision.reason)
            if self.ops_channels:
                await self.store.outbox.enqueue(notifications(decision.message, self.ops_channels), now)


def _advertiser(info: AdvertiserInfo) -> Account:
    return Account(info.id, info.name, info.currency, info.timezone)
