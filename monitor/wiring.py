"""The composition root: the one place that turns settings into objects, for every command.

``run``, ``once`` and ``demo`` get a :class:`~monitor.runtime.Runtime` from :func:`open_runtime` (the demo its
terminal channels from :func:`console_channels`); ``history``,
``revert`` and ``actions`` a store from :func:`open_store`; ``once --dry-run`` and ``explain`` read-only parts from
:func:`open_preview` (and ``revert`` the client of the entry's token account from
:func:`client_of_advertiser`); ``auth advertisers`` a client from :func:`build_client`; ``run`` the Slack
buttons' app from :func:`slack_app_of`. Nothing else in the package builds clients, stores or channels from
settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

import aiohttp

from monitor.accounts import Roster, build_clients
from monitor.actions.base import GuardSettings
from monitor.clock import Clock, SystemClock
from monitor.config import Settings
from monitor.notify.base import Channel
from monitor.notify.channels import build_channels
from monitor.notify.templates import Templates
from monitor.rulebook import RuleBook
from monitor.rules.loader import configured_channels
from monitor.runtime import Runtime
from monitor.store.budget import DEFAULT_APP, AppBudget
from monitor.store.lease import ttl_for
from monitor.store.repo import Store
from monitor.store.tiers import Tiers
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.sendtrace import send_trace

if TYPE_CHECKING:
    from monitor.metrics import Metrics
    from monitor.preview.parts import PreviewParts
    from monitor.slackapp.socket import SlackApp
    from monitor.steering import Steering

# The preview's parts, the demo's console channels and the Slack buttons (slack_sdk) are imported by the functions
# that build them: a command loads only what it uses (tests/structure/test_startup_imports.py).


async def open_store(settings: Settings, clock: Clock | None = None) -> Store:
    """The configured store, migrated to this version's schema; its leases live twice the poll deadline (10 s to
    60 s, renewed while held: :func:`monitor.store.lease.ttl_for`)."""
    return await Store.open(
        settings.storage.url,
        retention=settings.storage.retention,
        clock=clock or SystemClock(),
        lease_ttl=ttl_for(settings.monitor.poll_deadline),
        max_bytes=settings.storage.max_size,
        tiers=Tiers(settings.storage.raw, settings.storage.retention, settings.storage.daily),
    )


def shared_budget(settings: Settings, store: Store) -> AppBudget | None:
    """The app's request budget shared through ``store`` with every process using it (``[tiktok]
    shared_budget``, default on); None keeps the budget per process."""
    if not settings.tiktok.shared_budget:
        return None
    return AppBudget(store.engine, settings.tiktok.app_id or DEFAULT_APP, write_lock=store.write_lock)


def build_client(settings: Settings, session: aiohttp.ClientSession, metrics: Metrics | None = None) -> TikTokClient:
    """The client of the configuration's first token account (the only one in the single-token form)."""
    return next(iter(build_clients(settings, session, metrics).values()))


async def client_of_advertiser(
    settings: Settings, session: aiohttp.ClientSession, advertiser_id: str | None, store: Store | None = None
) -> TikTokClient:
    """The client of the token account that polls ``advertiser_id`` (several tokens: the configured lists,
    else a discovery); the first account's for None. With ``store`` it shares the app's budget through it."""
    clients = build_clients(settings, session, shared=shared_budget(settings, store) if store is not None else None)
    if len(clients) == 1 or advertiser_id is None:
        return next(iter(clients.values()))
    roster = Roster(settings.tiktok.token_accounts(), clients)
    if advertiser_id not in settings.tiktok.configured_advertiser_ids():
        await roster.refresh()
    return clients[roster.account_of(advertiser_id)]


def configured_channels_of(settings: Settings) -> dict[str, Channel]:
    """The notification channels the configuration sets up, with its templates."""
    webhook = settings.webhook
    return build_channels(
        settings,
        Templates(settings.monitor.templates),
        webhook_url=webhook.url.get_secret_value() if webhook else None,
        webhook_secret=webhook.secret.get_secret_value() if webhook and webhook.secret else None,
        webhook_timeout=webhook.timeout.total_seconds() if webhook else 10.0,
    )


def console_channels(settings: Settings, stream: TextIO, *, also_slack: bool) -> dict[str, Channel]:
    """The demo's channels: what rules send to ``slack`` is printed on ``stream`` (and sent to Slack too with
    ``also_slack``)."""
    from monitor.notify.console import AlsoOnConsole, ConsoleChannel

    templates = Templates(settings.monitor.templates)
    console = ConsoleChannel(templates, stream)
    slack = build_channels(settings, templates)["slack"] if also_slack else None
    return {"slack": console if slack is None else AlsoOnConsole(console, slack)}


async def open_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: Mapping[str, Channel] | None = None,
    metrics: Metrics | None = None,
) -> Runtime:
    """Validate and build everything: rules first (a broken rule file stops start-up), then the store
    (migrating it), then the HTTP side; then read the operational problems the store remembers and report actions a
    previous run left unfinished (once per journal entry). ``channels``
    replaces the configured ones (the demo's terminal). Always ``close()`` the result."""
    clock = clock or SystemClock()
    rulebook = RuleBook(settings.monitor.rules, configured_channels(settings), settings.origin("monitor", "rules"))
    store = await open_store(settings, clock)
    session = api_session()
    try:
        runtime = Runtime(
            settings,
            session=session,
            clients=build_clients(settings, session, metrics, shared_budget(settings, store)),
            store=store,
            rulebook=rulebook,
            channels=configured_channels_of(settings) if channels is None else channels,
            clock=clock,
            metrics=metrics,
        )
    except BaseException:  # nothing half-built may leak: close what was opened, in reverse order
        await session.close()
        await store.close()
        raise
    try:
        await runtime.load_problems()
        await runtime.report_interrupted_actions()
    except BaseException:
        await runtime.close()
        raise
    return runtime


async def open_preview(settings: Settings, clock: Clock | None = None) -> PreviewParts:
    """What ``once --dry-run`` and ``explain`` need: the database read-only (neither created nor migrated: see
    :mod:`monitor.preview.readonly`), clients behind this process's own rate limiter only (the app's shared budget
    is a table it would write), who polls which advertiser, the templates. Always ``close()`` the result."""
    from monitor.preview.parts import PreviewParts
    from monitor.preview.readonly import open_readonly

    readonly = await open_readonly(settings, clock or SystemClock())
    session = api_session()
    clients = build_clients(settings, session)
    return PreviewParts(
        readonly,
        session,
        clients,
        Roster(settings.tiktok.token_accounts(), clients),
        Templates(settings.monitor.templates),
        tuple(sorted(configured_channels(settings))),
    )


def steering_of(settings: Settings, store: Store, clock: Clock, session: aiohttp.ClientSession) -> Steering:
    """The changes people make (silences, reverts, approvals) on ``store``, with API clients on ``session`` for
    reverts and approvals."""
    from monitor.steering import Steering

    async def client_of(advertiser_id: str) -> TikTokClient:
        return await client_of_advertiser(settings, session, advertiser_id, store)

    return Steering(store, clock, GuardSettings.from_config(settings.actions, settings.monitor.interval), client_of)


def slack_app_of(settings: Settings, store: Store, clock: Clock, session: aiohttp.ClientSession) -> SlackApp | None:
    """The Slack buttons' Socket Mode app when ``[slack] app_token`` is set (None otherwise): clicks of the allowed
    users and groups made into changes through :func:`steering_of`, messages updated with the bot token."""
    slack = settings.slack
    if slack is None or slack.app_token is None or slack.token is None:
        return None
    from slack_sdk.web.async_client import AsyncWebClient

    from monitor.slackapp.allowlist import Allowlist
    from monitor.slackapp.handlers import ClickHandler
    from monitor.slackapp.socket import SlackApp

    web = AsyncWebClient(token=slack.token.get_secret_value(), base_url=slack.base_url)

    async def members_of(group: str) -> list[str]:
        response = await web.usergroups_users_list(usergroup=group)
        return [str(user) for user in response.get("users") or ()]

    allowlist = Allowlist(slack.allowed_users, slack.allowed_groups, members_of, clock)
    handler = ClickHandler(steering_of(settings, store, clock, session), web, allowlist)
    return SlackApp(slack.app_token.get_secret_value(), slack.base_url, handler)


def api_session() -> aiohttp.ClientSession:
    """A session for the Business API: the rate limiter counts each request when it leaves (``send_trace``)."""
    return aiohttp.ClientSession(trace_configs=[send_trace()])
