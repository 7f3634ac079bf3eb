"""`run` and `demo`: the scheduler, health endpoint, rule reloads and signals around a :class:`Runtime`.

Start-up validates everything before the first poll (config, rules, database migration, the health port).
With ``[slack] app_token`` it also takes Slack button clicks (:mod:`monitor.slackapp`). Edits of rule files
reload the rules atomically; SIGHUP reloads the configuration too (what it applies live
and what needs a restart: :mod:`monitor.reload`) and tries every paused advertiser (revoked token, account not
active) at once. SIGTERM/SIGINT stop taking new polls, let the
running ones finish and commit (their journal entries and outbox rows with them), deliver what the outbox can
in a few seconds, and exit 0; a second signal exits at once. Started with tracemalloc tracing, SIGUSR2 writes a
memory snapshot (:mod:`monitor.memsnap`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from aiohttp import web

from monitor.actions.breaker import tell_after
from monitor.actions.expiry import expire_due
from monitor.clock import Clock, SystemClock
from monitor.config import Settings
from monitor.durations import format_duration
from monitor.gctune import trim_malloc
from monitor.health import STALE_AFTER_INTERVALS, AppServer, HealthServer, HealthState, parse_listen
from monitor.logs import SecretRedactor
from monitor.maintenance import maintenance
from monitor.memsnap import snapshot_on_signal
from monitor.metrics import Metrics
from monitor.notify.base import Channel
from monitor.page.app import Page, add_routes
from monitor.page.serve import page_of, page_server, shares_health
from monitor.polls import PollOutcome, PollResult
from monitor.pollsoon import ADAPTIVE, SPARE, WEBHOOK, PollSoon, Wish
from monitor.reload import reload, watch_rules
from monitor.replicas import Replicas
from monitor.runtime import Runtime
from monitor.scheduler import PollListener, Scheduler
from monitor.sdnotify import SystemdNotifier, watchdog_loop
from monitor.storage import StorageWatch
from monitor.store.shards import timing
from monitor.subscribing import keep_subscribed
from monitor.webhook import ReportChangeReceiver
from monitor.wiring import configured_channels_of, open_runtime, slack_app_of

log = logging.getLogger(__name__)

#: How often rule files are checked for changes (a change is reloaded at the first look that sees it settled).
RULES_CHECK_SECONDS = 1.0
#: Time given to in-flight polls at shutdown, and to the last outbox delivery.
SHUTDOWN_WAIT_SECONDS = 30.0
FLUSH_SECONDS = 5.0


async def run_daemon(
    settings: Settings,
    *,
    clock: Clock | None = None,
    channels: Mapping[str, Channel] | None = None,
    stop: asyncio.Event | None = None,
    polls: int | None = None,
    on_ready: Callable[[Runtime], None] | None = None,
    on_poll_done: Sequence[PollListener] = (),
    interrupted_code: int = 0,
    redactor: SecretRedactor | None = None,
) -> int:
    """Run until ``stop`` is set, a signal arrives, or ``polls`` polls have finished (the demo's cycles).
    Returns the exit code: 0, or ``interrupted_code`` when SIGINT (Ctrl-C) stopped it (the demo's 130).
    ``on_poll_done`` listeners get each poll's outcome besides health and metrics; ``redactor`` learns the secrets
    of a configuration SIGHUP reloads. Given ``channels`` stay as they are on SIGHUP."""
    clock = clock or SystemClock()
    stop = stop or asyncio.Event()
    metrics = Metrics()
    runtime = await open_runtime(settings, clock=clock, channels=channels, metrics=metrics)
    health = HealthState(clock=clock, interval=settings.monitor.interval)
    # replicas sharing the database share the advertisers: this one polls those of the shards it owns
    beat, ttl = timing(settings.monitor.interval)
    replicas = Replicas(
        runtime.store.shards,
        runtime.store.owner,
        clock,
        beat=beat,
        ttl=ttl,
        busy=lambda: runtime.polling,
        on_assignment=[health.set_assignment, metrics.set_assignment],
    )
    runtime.replicas = replicas
    runtime.after_large_poll = trim_malloc  # a large poll's freed memory given back (monitor.gctune)
    runtime.store.fence_of = replicas.fence_of
    storage = StorageWatch(
        runtime.store.size,
        clock=clock,
        min_free=settings.storage.min_free,
        write_lock=runtime.store.write_lock,
        locked_after=STALE_AFTER_INTERVALS * settings.monitor.interval,  # as long as /healthz waits for a poll
    )
    finished = 0

    def show_storage(_outcome: PollOutcome | None = None) -> None:
        storage.full = runtime.full_store.state  # the pollers share it: full or not, after every poll
        health.storage_done(storage.problem, storage.details())
        metrics.set_storage(storage.size, storage.full is not None)

    async def measure_storage() -> None:
        if await storage.refresh():
            show_storage()

    def count_poll(outcome: PollOutcome) -> None:
        nonlocal finished
        if outcome.result is PollResult.NOT_MINE:
            return
        finished += 1
        if polls is not None and finished >= polls:
            stop.set()

    async def send_outbox() -> None:
        await measure_storage()  # first: the outbox's own writes fail while the database is full
        # the circuit breaker is told once per opening, a cycle after it (by whichever replica gets there first)
        await runtime.breaker.tell(runtime.ops_channels, after=tell_after(runtime.settings.monitor.interval))
        # approvals past their expiry are dropped and told once (any replica: the update claims each one)
        await expire_due(runtime.store, clock, runtime.approval_channels)
        report = await runtime.sender.run_once()
        for (channel, result), count in report.by_channel.items():
            metrics.notification(channel, result, count)
        metrics.set_outbox_pending(await runtime.store.outbox.count_pending())
        breaker = await runtime.breaker.status()
        episode = breaker.episode
        since = None if episode is None else episode.opened_at if breaker.is_open else episode.closed_at
        health.breaker_done(breaker.is_open, since, breaker.writes)
        metrics.set_breaker(breaker.is_open, breaker.writes)

    runtime.extra_polls = True
    soon = PollSoon(
        poll_now=lambda advertiser_id: scheduler.poll_extra(advertiser_id),
        watched=lambda advertiser_id: scheduler.polls(advertiser_id) and replicas.owns(advertiser_id),
        room=lambda: runtime.client.transport.limiter.room(SPARE),
        interval=lambda: runtime.settings.monitor.interval,
        floor=lambda: runtime.settings.monitor.min_poll_gap,
        clock=clock,
        on_extra=metrics.extra_poll,
    )

    def after_poll(outcome: PollOutcome) -> None:
        if outcome.summary is not None and outcome.summary.notifications:
            scheduler.send_outbox_soon()  # the poll's messages leave now, not at the outbox's next period
        if outcome.summary is not None and outcome.summary.crossing is not None:  # adaptive polling
            soon.ask(outcome.advertiser_id, Wish(ADAPTIVE, outcome.summary.crossing))

    scheduler = Scheduler(
        poll=runtime.poll,
        interval=settings.monitor.interval,
        advertiser_ids=settings.tiktok.configured_advertiser_ids(),
        discover=runtime.advertiser_ids,  # every account's advertisers and roles, at start and hourly
        send_outbox=send_outbox,
        outbox_interval=settings.notify.interval,
        # compaction, pruning, vacuum (monitor.store.maintain); stored hourly days; counted in the metrics
        maintain=partial(maintenance, runtime.store, clock, metrics, lambda: runtime.rulebook.current.baseline_weeks()),
        on_poll_done=[
            *(health.poll_done, metrics.poll_done, show_storage, count_poll, soon.poll_done, after_poll),
            *on_poll_done,
        ],
        on_poll_skipped=[metrics.poll_skipped],
        on_advertisers=[health.set_advertisers, metrics.set_advertisers],
        on_discovery=[health.discovery_done],
        clock=clock,
    )
    server = None
    page_listener: AppServer | None = None
    notifier = SystemdNotifier.from_env()
    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    received: list[signal.Signals] = []
    build = configured_channels_of if channels is None else None  # given channels stay as they are

    def hangup() -> None:
        tasks.append(loop.create_task(reload(runtime, scheduler, health, build_channels=build, redactor=redactor)))

    signals = _install_signals(loop, stop, received, hangup)
    snapshots = snapshot_on_signal(loop, os.environ, lambda: bool(runtime.polling))  # SIGUSR2, when tracing
    if snapshots is not None:
        signals.append(snapshots)
    slack_app = slack_app_of(settings, runtime.store, clock, runtime.session)  # the buttons: [slack] app_token
    try:
        page = page_of(settings, runtime) if settings.page.enabled else None
        if settings.health.enabled:
            host, port = parse_listen(settings.health.listen)
            beside = page if page is not None and shares_health(settings) else None
            server = HealthServer(
                health,
                metrics.registry,
                host=host,
                port=port,
                allowed_hosts=settings.health.allowed_hosts,
                add_routes=partial(_more_routes, page=beside, receiver=_receiver(settings, soon, metrics)),
            )
            await server.start()
            log.info("health on http://%s:%d/healthz and /metrics", host, server.port)
            if beside is not None:
                log.info("status page on %s/", server.url)
        if page is not None and not shares_health(settings):
            page_listener = page_server(settings, page)
            await page_listener.start()
            log.info("status page on %s/", page_listener.url)
        await replicas.beat()  # this replica's share of the advertisers, before the first poll
        await measure_storage()
        scheduler.start()
        if slack_app is not None:
            await slack_app.start()
        tasks.append(loop.create_task(replicas.run(stop)))
        if settings.tiktok.subscription.enabled:  # REPORT_DATA_CHANGE: a trigger to poll sooner
            wanted = partial(_by_account, runtime, scheduler)
            tasks.append(loop.create_task(keep_subscribed(settings.tiktok.subscription, runtime.clients, wanted, stop)))
        tasks.append(loop.create_task(watch_rules(runtime, stop, RULES_CHECK_SECONDS)))
        # the watchdog proves the loop turns and the scheduler runs; /healthz proves advertisers are watched
        tasks.append(loop.create_task(watchdog_loop(notifier, lambda: scheduler.running)))
        notifier.ready(f"polling {len(settings.tiktok.configured_advertiser_ids()) or 'discovered'} advertiser(s)")
        log.info(
            "monitor started: every %s, %d rule(s)",
            format_duration(settings.monitor.interval),
            len(runtime.rulebook.current),
        )
        if on_ready is not None:
            on_ready(runtime)
        await stop.wait()
        log.info("stopping: letting running polls finish (up to %.0fs)", SHUTDOWN_WAIT_SECONDS)
        notifier.stopping()
        await scheduler.shutdown(SHUTDOWN_WAIT_SECONDS)
        try:
            await replicas.leave()  # the others take this replica's shards at their next beat
        except Exception as exc:
            log.warning("could not release this replica's shards (they are taken over when it stops beating): %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runtime.sender.drain(), FLUSH_SECONDS)
    finally:
        soon.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in signals:
            loop.remove_signal_handler(sig)
        if server is not None:
            await server.stop()
        if page_listener is not None:
            await page_listener.stop()
        if slack_app is not None:
            await slack_app.close()
        await runtime.close()
        notifier.close()
    log.info("monitor stopped")
    return interrupted_code if signal.SIGINT in received else 0


def _receiver(settings: Settings, soon: PollSoon, metrics: Metrics) -> tuple[str, ReportChangeReceiver] | None:
    """The REPORT_DATA_CHANGE receiver and its path, with ``[tiktok.subscription] enabled``."""
    subscription = settings.tiktok.subscription
    if not subscription.enabled:
        return None
    receiver = ReportChangeReceiver(lambda advertiser_id: soon.ask(advertiser_id, Wish(WEBHOOK)), count=metrics.notice)
    return subscription.receiver_path, receiver


def _more_routes(app: web.Application, *, page: Page | None, receiver: tuple[str, ReportChangeReceiver] | None) -> None:
    """The routes beside /healthz and /metrics: the status page (sharing the listener), the receiver."""
    if page is not None:
        add_routes(app, page=page)
    if receiver is not None:
        receiver[1].add_route(app, receiver[0])


def _by_account(runtime: Runtime, scheduler: Scheduler) -> dict[str, list[str]]:
    """The advertisers polled here, by the token account that polls them."""
    found: dict[str, list[str]] = {}
    for advertiser_id in scheduler.advertiser_ids:
        found.setdefault(runtime.roster.account_of(advertiser_id), []).append(advertiser_id)
    return found


def _install_signals(
    loop: asyncio.AbstractEventLoop, stop: asyncio.Event, received: list[signal.Signals], reload: Callable[[], None]
) -> list[int]:
    def terminate(sig: signal.Signals) -> None:
        received.append(sig)
        if stop.is_set():  # the second signal: the user wants out now
            log.warning("second %s: exiting at once", sig.name)
            os._exit(1)
        log.info("%s received", sig.name)
        stop.set()

    installed: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, terminate, sig)
        installed.append(sig)
    loop.add_signal_handler(signal.SIGHUP, reload)
    installed.append(signal.SIGHUP)
    return installed
