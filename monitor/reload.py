"""SIGHUP and edited rule files in ``run``: what is reloaded, what is applied live, what needs a restart.

SIGHUP reads the configuration file again. An invalid file (or rules that the new configuration makes invalid)
changes nothing: every problem is logged with ``file:line`` and the key, and the previous configuration stays
in force. Otherwise each changed key is either applied at once or named as needing a restart:

* applied live (:data:`LIVE`): ``[monitor]`` (``interval`` reschedules every poll at its phase of the new
  interval, ``poll_timeout``, ``rules``: the new rules directory, ``templates``), the channels (``[slack]``,
  ``[email]``, ``[webhook]``, ``[console]``: rebuilt and swapped into the outbox sender, the old ones closed;
  but not the Slack buttons' ``app_token``, ``allowed_users`` and ``allowed_groups``: Socket Mode connects at start),
  ``[notify] ops_channels`` and ``group_limit``, and all of ``[actions]`` (the guards and the circuit breaker's
  limits);
* needing a restart (everything else, kept as it was until then): ``[tiktok]`` (token, app credentials,
  advertisers, API host, rate), ``[storage]``, ``[health]``, ``[page]``, and the other ``[notify]`` keys (the
  outbox's timing and retries, the operational alerts' cooldown and threshold). The heartbeat of replicas also keeps
  the timing it took from the interval at start.

Then, with or without a new configuration, the rules are reloaded and every paused advertiser (lost token,
account not active) is tried at once. The log says which keys were applied and which need a restart (names
only: a value may be a secret). :func:`config_changes` and :func:`merged` are pure; :func:`reload` does it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from monitor.actions import GuardSettings
from monitor.config import Settings, load_settings
from monitor.errors import ConfigError, Problem
from monitor.logs import SecretRedactor
from monitor.notify.base import Channel
from monitor.notify.channels import close_channels
from monitor.rules.loader import configured_channels

if TYPE_CHECKING:
    from monitor.health import HealthState
    from monitor.runtime import Runtime
    from monitor.scheduler import Scheduler

log = logging.getLogger(__name__)

#: Keys (a section, or ``section.key``) a SIGHUP applies while running; every other change needs a restart.
LIVE = frozenset(
    {"monitor", "actions", "slack", "email", "webhook", "console", "notify.ops_channels", "notify.group_limit"}
)
#: Keys of a live section that still need a restart: the Slack buttons' Socket Mode app is built at start.
BUTTON_KEYS = ("app_token", "allowed_users", "allowed_groups")
#: The channel sections: a change to any of them rebuilds the channels (with the templates of ``[monitor]``).
CHANNEL_SECTIONS = ("slack", "email", "webhook", "console")


@dataclass(frozen=True)
class ConfigChanges:
    """The keys that differ between two configurations: ``live`` ones applied at once, ``restart`` ones not."""

    live: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()

    @property
    def channels(self) -> bool:
        """Whether the channels are to be rebuilt (a channel section or the templates changed)."""
        return any(key.split(".")[0] in CHANNEL_SECTIONS or key == "monitor.templates" for key in self.live)


def config_changes(old: Settings, new: Settings) -> ConfigChanges:
    """Which keys differ, as ``section.key`` (a whole section when it was added or removed; ``tiktok.accounts``
    as one key), split into live and restart ones, each sorted."""
    keys = []
    for section in type(old).model_fields:
        before, after = getattr(old, section), getattr(new, section)
        if isinstance(before, BaseModel) and type(before) is type(after):
            keys += [f"{section}.{k}" for k in type(before).model_fields if getattr(before, k) != getattr(after, k)]
        elif before != after:
            keys.append(section)
    buttons = [f"slack.{k}" for k in BUTTON_KEYS]
    keys = [k for k in keys if k not in buttons]
    keys += [f"slack.{k}" for k in BUTTON_KEYS if _button_key(old, k) != _button_key(new, k)]
    live = sorted(k for k in keys if (k in LIVE or k.split(".")[0] in LIVE) and k not in buttons)
    return ConfigChanges(tuple(live), tuple(sorted(set(keys) - set(live))))


def _button_key(settings: Settings, key: str) -> Any:
    """A button key's value (None when unset: no section, no token, no list)."""
    return None if settings.slack is None else getattr(settings.slack, key) or None


def merged(old: Settings, new: Settings) -> Settings:
    """``old`` with the live parts of ``new``: the settings in force after a reload (the rest waits for a
    restart)."""
    notify = old.notify.model_copy(
        update={"ops_channels": new.notify.ops_channels, "group_limit": new.notify.group_limit}
    )
    update: dict[str, Any] = {name: getattr(new, name) for name in ("monitor", "actions", *CHANNEL_SECTIONS)}
    if new.slack is not None:  # the buttons stay as the running Socket Mode app takes them (or not at all)
        buttons = {k: _button_key(old, k) for k in BUTTON_KEYS}
        update["slack"] = new.slack.model_copy(
            update={
                **buttons,
                "allowed_users": buttons["allowed_users"] or [],
                "allowed_groups": buttons["allowed_groups"] or [],
            }
        )
    return old.model_copy(update={**update, "notify": notify})


async def reload(
    runtime: Runtime,
    scheduler: Scheduler,
    health: HealthState,
    *,
    build_channels: Callable[[Settings], dict[str, Channel]] | None,
    redactor: SecretRedactor | None = None,
) -> None:
    """SIGHUP: the configuration (when it came from a file), then the rules, then the paused advertisers.
    ``build_channels`` makes the channels of a configuration (None: the channels were given, as in the demo,
    and stay)."""
    log.info("SIGHUP: reloading the configuration and the rules, re-checking paused advertisers")
    source = runtime.settings.source
    if source is not None:
        await reload_config(
            runtime, scheduler, health, source=str(source), build_channels=build_channels, redactor=redactor
        )
    await runtime.reload_rules(force=True)
    paused = runtime.recheck()
    if paused:
        log.info("SIGHUP: re-checking %d paused advertiser(s): %s", len(paused), ", ".join(paused))
        scheduler.poll_soon(paused)


async def reload_config(
    runtime: Runtime,
    scheduler: Scheduler,
    health: HealthState,
    *,
    source: str,
    build_channels: Callable[[Settings], dict[str, Channel]] | None,
    redactor: SecretRedactor | None = None,
) -> ConfigChanges | None:
    """Read ``source`` again and apply what may be applied live; None when it is invalid (nothing changed)."""
    old = runtime.settings
    try:
        new = load_settings(source)
    except ConfigError as exc:
        _refused(exc.problems, source)
        return None
    if redactor is not None:
        redactor.add(new.secrets())  # before anything could log them
    changes = config_changes(old, new)
    settings = merged(old, new)
    channels = build_channels(settings) if build_channels is not None and changes.channels else None
    rules = runtime.rulebook.replace(settings.monitor.rules, configured_channels(settings))
    if not rules.ok:
        if channels is not None:
            await close_channels(channels)
        _refused(rules.problems, source)
        return None
    if not changes.live and not changes.restart:
        log.info("configuration unchanged")
        return changes
    if changes.restart:
        log.warning(
            "configuration: changed but NOT applied until a restart (`systemctl restart tiktok-monitor`): %s",
            ", ".join(changes.restart),
        )
    if changes.live:
        await apply(runtime, scheduler, health, settings, channels)
        log.info("configuration: applied %s", ", ".join(changes.live))
    return changes


def _refused(problems: Iterable[Problem], source: str) -> None:
    for problem in problems:
        log.error("configuration not reloaded: %s", problem)
    log.error("the previous configuration stays in force until %s is fixed (then SIGHUP again)", source)


async def apply(
    runtime: Runtime,
    scheduler: Scheduler,
    health: HealthState,
    settings: Settings,
    channels: dict[str, Channel] | None,
) -> None:
    """Put ``settings`` in force: interval and poll deadline, guards and breaker limits, operational channels and
    grouping, and ``channels`` when rebuilt (the old ones are closed once no delivery runs with them)."""
    interval = settings.monitor.interval
    if interval != runtime.settings.monitor.interval:
        scheduler.set_interval(interval)
        health.interval = interval
    runtime.settings = settings
    guards = GuardSettings.from_config(settings.actions, interval)
    runtime.breaker.settings = guards
    for pipeline in runtime.pipelines.values():
        pipeline.actions.settings = guards
    for poller in runtime.pollers.values():
        poller.poll_timeout = settings.monitor.poll_deadline
    if channels is not None:
        old = await runtime.sender.replace_channels(channels)
        runtime.channels = dict(channels)
        try:
            await close_channels(old)
        except Exception as exc:  # a channel that cannot close cleanly must not stop the reload
            log.warning("closing the previous channels failed: %s", exc)
    runtime.ops_channels = list(settings.notify.ops_channels or runtime.channels)
    for pipeline in runtime.pipelines.values():
        pipeline.reconfigure(group_limit=settings.notify.group_limit, ops_channels=runtime.ops_channels)


async def watch_rules(runtime: Runtime, stop: asyncio.Event, every: float) -> None:
    """Reload rules when their files change (once settled); a broken edit keeps the old rules (and is told
    once)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        try:
            await runtime.reload_rules()
        except Exception:  # a store hiccup while telling about it must not end the watching
            log.exception("checking the rule files failed")
