"""The settings of the daemon: config.toml, read strictly into frozen pydantic models.

:func:`load_settings` is the only way in from a file. In order it

1. reads the file and parses it with tomllib (a syntax error becomes ``FILE:LINE: invalid TOML: ...``);
2. replaces ``${VAR}`` in every string value with the environment variable, stripped (``$${`` is a literal ``${``);
3. reads ``<secret>_file`` keys (``access_token_file``, ``secret_file``, ``token_file``, ``webhook_url_file``,
   ``password_file``): the file's content, stripped, becomes the secret; the path is relative to the config file;
4. validates everything into :class:`Settings`: unknown keys are errors, durations are text like ``"5m"``
   (:mod:`monitor.durations`), relative paths and sqlite URLs are resolved against the config file's directory;
5. reports every problem found at once as :class:`~monitor.errors.ConfigError`, one line each:
   ``FILE:LINE: dotted.key: message`` (lines come from :mod:`monitor.tomlpos`).

Secrets are :class:`pydantic.SecretStr`: masked in repr and str, and never quoted in an error message.
Defaults live in the models and nowhere else; config.example.toml documents them. The sections' models live
in config_tiktok.py, config_monitor.py, config_notify.py and config_http.py; this module is their face:
:class:`Settings` (the whole file) and :func:`load_settings`, and it re-exports every section.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)

from monitor.config_http import HealthSettings, PageSettings
from monitor.config_monitor import ActionsSettings, MonitorSettings, StorageSettings, mask_url_password
from monitor.config_notify import ConsoleSettings, EmailSettings, NotifySettings, SlackSettings, WebhookSettings
from monitor.config_tiktok import DEFAULT_ACCOUNT, AccountSettings, SubscriptionSettings, TikTokSettings
from monitor.configtypes import (
    CONFIG_DIR,
    Section,
    config_error,
)
from monitor.errors import ConfigError, Origin, Problem
from monitor.tomlpos import KeyIndex
from monitor.tomlread import parse_toml, read_text
from monitor.tomlvalidate import Loader

__all__ = [
    "DEFAULT_ACCOUNT",
    "AccountSettings",
    "ActionsSettings",
    "ConsoleSettings",
    "EmailSettings",
    "HealthSettings",
    "MonitorSettings",
    "NotifySettings",
    "PageSettings",
    "Settings",
    "SlackSettings",
    "StorageSettings",
    "SubscriptionSettings",
    "TikTokSettings",
    "WebhookSettings",
    "load_settings",
    "mask_url_password",
]


#: Keys still read under an old name, and what ``check`` (and ``run``, ``once`` at start) warn about them.
DEPRECATED = {
    ("actions", "max_per_cycle"): (
        "deprecated name of max_writes (read as max_writes): rename it. It is now a fleet-wide circuit breaker: "
        "at most max_writes real writes within [actions] window (default: [monitor] interval) across every "
        "advertiser, not a count per poll"
    ),
}


class Settings(Section):
    """The whole config.toml. Built by :func:`load_settings`; built in code, ``source`` is None."""

    model_config = ConfigDict(defer_build=False)  # every command validates one: built when defined, unlike a Section

    tiktok: TikTokSettings
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    slack: SlackSettings | None = None
    email: EmailSettings | None = None
    console: ConsoleSettings | None = None
    actions: ActionsSettings = Field(default_factory=ActionsSettings)
    webhook: WebhookSettings | None = None
    notify: NotifySettings = Field(default_factory=NotifySettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    page: PageSettings = Field(default_factory=PageSettings)

    _source: Path | None = PrivateAttr(default=None)
    _warnings: list[Problem] = PrivateAttr(default_factory=list)
    _where: tuple[str, KeyIndex] | None = PrivateAttr(default=None)  # the file as given and its keys' lines

    @model_validator(mode="before")
    @classmethod
    def _sections_from_empty_tables(cls, data: Any) -> Any:
        # Validate absent sections from {} rather than using the defaults as they are, so that their
        # relative paths are resolved against the config file too, and so that a missing [tiktok] is
        # reported as the keys it needs.
        if isinstance(data, dict):
            sections = ("tiktok", "monitor", "storage", "actions", "notify", "health", "page")
            return {**{name: {} for name in sections}, **data}
        return data

    @model_validator(mode="after")
    def _ops_channels_are_configured(self) -> Settings:
        configured = [n for n in ("slack", "email", "webhook", "console") if getattr(self, n) is not None]
        for index, name in enumerate(self.notify.ops_channels or ()):
            if name.partition(":")[0] not in configured:
                shown = ", ".join(configured) or "none"
                raise config_error(
                    (f"notify.ops_channels.{index}", f"channel {name!r} is not configured (configured: {shown})")
                )
        return self

    @model_validator(mode="after")
    def _receiver_needs_health(self) -> Settings:
        if self.tiktok.subscription.enabled and not self.health.enabled:
            raise config_error(
                ("tiktok.subscription.enabled", "the receiver answers on the [health] listener: enable [health]")
            )
        return self

    @model_validator(mode="after")
    def _page_off_loopback_needs_auth(self) -> Settings:
        page = self.page
        if not page.enabled or page.authenticated:
            return self
        from monitor.page.auth import is_loopback  # the page's own rule (one loopback), loaded when a page is on

        key = "page.listen" if page.listen is not None else "health.listen"
        host = self.page_listen().rpartition(":")[0].strip("[]")
        if not is_loopback(host):
            raise config_error(
                (
                    key,
                    f"the status page would listen on {host}, not the loopback: set [page] token (or token_file) "
                    "or users, or listen on 127.0.0.1",
                )
            )
        return self

    def page_listen(self) -> str:
        """Where the status page listens: ``[page] listen``, by default ``[health] listen`` (beside /healthz)."""
        return self.page.listen or self.health.listen

    @property
    def source(self) -> Path | None:
        """The config file these settings were loaded from (absolute), or None when built in code."""
        return self._source

    @property
    def warnings(self) -> list[Problem]:
        """What is accepted but should change (deprecated keys), located like problems; empty when built in
        code."""
        return list(self._warnings)

    def origin(self, *key: str) -> Origin | None:
        """Where ``key`` (like ``"monitor", "rules"``) is set, for problems about what it names: the config file as
        given, the line (None when the key is not written: a default) and the dotted key; None when built in
        code."""
        if self._where is None:
            return None
        shown, index = self._where
        return Origin(shown, index.exact(key), ".".join(key))

    def secrets(self) -> list[str]:
        """Every secret value present, for log redaction: tokens, app secret, webhook URL, passwords."""
        found = [value.get_secret_value() for value in _secret_values(self)]
        password = urlsplit(self.storage.url).password
        if password:
            found.append(password)
        return [value for value in found if value]


def _secret_values(model: BaseModel) -> Iterator[SecretStr]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            yield value
        elif isinstance(value, BaseModel):
            yield from _secret_values(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    yield from _secret_values(item)
        elif isinstance(value, dict):  # [page] users: name -> password
            yield from (item for item in value.values() if isinstance(item, SecretStr))


def load_settings(path: Path | str, env: Mapping[str, str] | None = None) -> Settings:
    """Load and validate a config file. ``env`` (default ``os.environ``) serves ``${VAR}``.

    Raises :class:`~monitor.errors.ConfigError` listing every problem found, one line each.
    """
    env = os.environ if env is None else env
    shown = os.fspath(path)
    source = Path(os.path.abspath(path))
    text = read_text(source, shown)
    doc = parse_toml(text, shown)
    loader = Loader(Settings, shown, source.parent, env, KeyIndex(text))
    doc = loader.interpolate(doc, ())
    loader.read_secret_files(doc)
    try:
        settings = Settings.model_validate(doc, context={CONFIG_DIR: source.parent})
    except ValidationError as exc:
        loader.add_validation_errors(exc)
    if loader.problems:
        raise ConfigError(loader.sorted_problems())
    settings._source = source
    settings._warnings = _deprecated(doc, shown, loader.index)
    settings._where = (shown, loader.index)
    return settings


def _deprecated(doc: Mapping[str, Any], shown: str, index: KeyIndex) -> list[Problem]:
    found = []
    for (section, key), message in DEPRECATED.items():
        table = doc.get(section)
        if isinstance(table, Mapping) and key in table:
            found.append(Problem(shown, index.line((section, key)), f"{section}.{key}", message))
    return found
