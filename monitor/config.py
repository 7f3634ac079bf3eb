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
Defaults live in the models below and nowhere else; config.example.toml documents them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.bytesize import ByteSize
from monitor.configtypes import (
    CONFIG_DIR,
    DAY,
    HOUR,
    LONG,
    MAX_COUNT,
    RETRY,
    YEAR,
    Boolean,
    ChangeLimit,
    ConfigPath,
    EmailAddress,
    HttpUrl,
    Integer,
    MinBudgets,
    NonEmptyStr,
    NumericId,
    Secret,
    Section,
    SlackGroup,
    SlackUser,
    Timeout,
    UniqueIds,
    config_error,
)
from monitor.durations import Duration, at_least, at_most
from monitor.errors import ConfigError, MonitorError, Origin, Problem
from monitor.tomlpos import KeyIndex
from monitor.tomlvalidate import Loader, parse_toml, read_text

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
    "TikTokSettings",
    "WebhookSettings",
    "load_settings",
]


#: The name of the one account of the single-token form (``[tiktok] access_token``).
DEFAULT_ACCOUNT = "default"

#: Keys still read under an old name, and what ``check`` (and ``run``, ``once`` at start) warn about them.
DEPRECATED = {
    ("actions", "max_per_cycle"): (
        "deprecated name of max_writes (read as max_writes): rename it. It is now a fleet-wide circuit breaker: "
        "at most max_writes real writes within [actions] window (default: [monitor] interval) across every "
        "advertiser, not a count per poll"
    ),
}


class AccountSettings(Section):
    """``[[tiktok.accounts]]``: one access token (an agency's login) and the advertisers it watches."""

    name: NonEmptyStr
    access_token: Secret
    advertiser_ids: UniqueIds = Field(default_factory=list)
    bc_ids: UniqueIds | None = None


class TikTokSettings(Section):
    """``[tiktok]``: where the Business API is and how to use it; one token, or several ``accounts``."""

    #: What people write for our keys: suggested before the closest spelling (see tomlvalidate).
    SYNONYMS: ClassVar[dict[str, str]] = {
        "token": "access_token",
        "qps": "max_qps",
        "rate_limit": "max_qps",
        "advertisers": "advertiser_ids",
        "app_secret": "secret",
    }

    base_url: HttpUrl = "https://business-api.tiktok.com"
    access_token: Secret | None = None
    advertiser_ids: UniqueIds = Field(default_factory=list)
    bc_ids: UniqueIds | None = None
    accounts: list[AccountSettings] = Field(default_factory=list)
    app_id: NumericId | None = None
    secret: Secret | None = None
    max_qps: Integer = Field(default=10, ge=1, le=1000)
    shared_budget: Boolean = True
    timeout: Timeout = timedelta(seconds=30)
    max_retries: Integer = Field(default=5, ge=0, le=20)

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_form(self) -> TikTokSettings:
        if not self.accounts:
            if self.access_token is None:
                raise config_error(("access_token", "required: set access_token or access_token_file"))
            return self
        problems: list[tuple[str, str]] = []
        both = "set either access_token (one token) or [[tiktok.accounts]] tables (several), not both"
        if self.access_token is not None:
            problems.append(("access_token", both))
        for key, value in (("advertiser_ids", self.advertiser_ids), ("bc_ids", self.bc_ids)):
            if value:
                problems.append((key, f"with [[tiktok.accounts]], set {key} in each account"))
        names: dict[str, int] = {}
        owners: dict[str, str] = {}
        for index, account in enumerate(self.accounts):
            if account.name in names:
                problems.append(
                    (
                        f"accounts.{index}.name",
                        f"{account.name!r} is also the name of account {names[account.name] + 1}",
                    )
                )
            names.setdefault(account.name, index)
            for position, advertiser_id in enumerate(account.advertiser_ids):
                if advertiser_id in owners and owners[advertiser_id] != account.name:
                    problems.append(
                        (
                            f"accounts.{index}.advertiser_ids.{position}",
                            f"{advertiser_id!r} is also listed under account {owners[advertiser_id]!r}: "
                            "each advertiser is polled with one token",
                        )
                    )
                owners.setdefault(advertiser_id, account.name)
        if problems:
            raise config_error(*problems)
        return self

    @model_validator(mode="after")
    def _discovery_needs_app(self) -> TikTokSettings:
        why = "advertiser_ids is empty (discover every advertiser the token reaches)"
        missing = []
        if self.app_id is None:
            missing.append(("app_id", f"required when {why}: set app_id"))
        if self.secret is None:
            missing.append(("secret", f"required when {why}: set secret or secret_file"))
        if any(not a.advertiser_ids for a in self.token_accounts()) and missing:
            raise config_error(*missing)
        return self

    def token_accounts(self) -> list[AccountSettings]:
        """Every token with its advertisers: the ``accounts``, or the single token as account "default"."""
        if self.accounts:
            return list(self.accounts)
        if self.access_token is None:
            return []
        return [
            AccountSettings(
                name=DEFAULT_ACCOUNT,
                access_token=self.access_token,
                advertiser_ids=self.advertiser_ids,
                bc_ids=self.bc_ids,
            )
        ]

    def configured_advertiser_ids(self) -> list[str]:
        """Every advertiser id listed in the configuration (discovery adds the rest at run time)."""
        return [a for account in self.token_accounts() for a in account.advertiser_ids]


#: The default poll deadline: this share of the interval, but never less than MIN_POLL_TIMEOUT.
POLL_TIMEOUT_SHARE = 0.8
MIN_POLL_TIMEOUT = timedelta(seconds=10)


class MonitorSettings(Section):
    """``[monitor]``: how often to poll, how long a poll may run, and where the rules are."""

    SYNONYMS: ClassVar[dict[str, str]] = {
        "every": "interval",
        "frequency": "interval",
        "rules_dir": "rules",
        "rules_path": "rules",
        "rule_files": "rules",
    }

    interval: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(DAY, "poll at least daily")] = timedelta(
        minutes=5
    )
    poll_timeout: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(DAY, "a poll is minutes long")] | None = (
        None
    )
    rules: ConfigPath = Field(default=Path("rules"), validate_default=True)
    templates: ConfigPath | None = None

    @property
    def poll_deadline(self) -> timedelta:
        """How long a poll may run before it is cancelled: ``poll_timeout``, by default 80 % of the interval (4
        minutes of 5, 48 s of 1), which leaves the rest of the interval for the cancelled poll to be recorded
        before the next one is due, but at least 10 s: even a small account's poll makes a few calls at the rate
        limit, and a deadline it cannot meet would fail every poll, where a poll longer than a short interval only
        makes the next one skip."""
        if self.poll_timeout is not None:
            return self.poll_timeout
        return max(self.interval * POLL_TIMEOUT_SHARE, MIN_POLL_TIMEOUT)


class StorageSettings(Section):
    """``[storage]``: the database of snapshots, alerts, outbox and journal."""

    SYNONYMS: ClassVar[dict[str, str]] = {
        "database": "url",
        "database_url": "url",
        "db": "url",
        "dsn": "url",
        "keep": "retention",
    }

    url: str = Field(default="sqlite:///monitor.db", validate_default=True)
    retention: Annotated[Duration, at_least(timedelta(hours=1)), at_most(YEAR, LONG)] = timedelta(days=30)
    #: ``/healthz`` is degraded while the database's disk has less free space than this (SQLite; "0" turns it off).
    min_free: ByteSize = 1000**3
    #: SQLite only: the database file never grows beyond this; a write that would is refused like a full disk
    #: (told as ``storage_full``). Keeps the monitor from filling a disk it shares.
    max_size: ByteSize | None = None

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str, info: ValidationInfo) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            # not quoted: a database URL may carry a password
            raise config_error(
                ("", "expected a database URL like 'sqlite:///monitor.db' or 'postgresql+asyncpg://...'")
            )
        from monitor.store.db import normalize_url  # the store's own rule: one definition of what it can open

        try:
            normalize_url(value)
        except MonitorError as exc:
            raise config_error(("", str(exc))) from None
        base = (info.context or {}).get(CONFIG_DIR)
        if not scheme.startswith("sqlite") or base is None or not rest.startswith("/"):
            return value
        file, query_sep, query = rest[1:].partition("?")
        if not file or file == ":memory:" or file.startswith(("/", "file:")):
            return value
        resolved = Path(base) / Path(file).expanduser()
        return f"{scheme}:///{resolved}{query_sep}{query}"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, mask_url_password(value) if name == "url" else value


class SlackSettings(Section):
    """``[slack]``: a bot token and a channel, or an incoming webhook. With ``app_token`` (an app-level token,
    ``xapp-...``) ``run`` also takes button clicks through Socket Mode (monitor.slackapp) from the users and user
    groups allowed."""

    token: Secret | None = None
    webhook_url: Secret | None = None
    channel: NonEmptyStr | None = None
    base_url: HttpUrl = "https://slack.com/api/"
    app_token: Secret | None = None
    allowed_users: list[SlackUser] = Field(default_factory=list)
    allowed_groups: list[SlackGroup] = Field(default_factory=list)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_is_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and urlsplit(value.get_secret_value()).scheme not in ("http", "https"):
            raise config_error(("", "expected an http(s) URL (not shown: it is a secret)"))
        return value

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"  # slack-sdk joins method names onto it

    @model_validator(mode="after")
    def _one_way_to_post(self) -> SlackSettings:
        if self.token is None and self.webhook_url is None:
            raise config_error(
                ("token", "required: set token or token_file (a bot token), or webhook_url or webhook_url_file")
            )
        if self.token is not None and self.webhook_url is not None:
            raise config_error(("webhook_url", "set either token or webhook_url, not both"))
        if self.token is not None and self.channel is None:
            raise config_error(("channel", "required with token: set channel, like '#ads-alerts'"))
        if self.webhook_url is not None and self.channel is not None:
            raise config_error(("channel", "a webhook posts to its own channel: remove channel, or use token"))
        return self._buttons()

    def _buttons(self) -> SlackSettings:
        if self.app_token is None:
            if self.allowed_users or self.allowed_groups:
                why = "required with allowed_users/allowed_groups: set app_token or app_token_file"
                raise config_error(("app_token", why))
            return self
        if not self.app_token.get_secret_value().startswith("xapp-"):
            raise config_error(("app_token", "expected an app-level token (xapp-...; not shown: it is a secret)"))
        if self.token is None:
            raise config_error(("app_token", "buttons need a bot token to update messages: set token, not webhook_url"))
        if not self.allowed_users and not self.allowed_groups:
            why = "required with app_token: the Slack users (U...) or allowed_groups (S...) who may click"
            raise config_error(("allowed_users", why))
        return self


class ConsoleSettings(Section):
    """``[console]``: every message a rule sends to ``console`` printed on the terminal (stdout or stderr) of
    ``run`` or ``once``; no account anywhere needed."""

    stream: Literal["stdout", "stderr"] = "stdout"


class EmailSettings(Section):
    """``[email]``: an SMTP server and who gets the mail."""

    host: NonEmptyStr
    port: Integer = Field(default=25, ge=1, le=65535)
    from_addr: EmailAddress = Field(alias="from")
    to: list[EmailAddress]
    starttls: Boolean = False
    tls: Boolean = False
    username: NonEmptyStr | None = None
    password: Secret | None = None
    timeout: Timeout = timedelta(seconds=30)

    @field_validator("to")
    @classmethod
    def _someone(cls, value: list[str]) -> list[str]:
        if not value:
            raise config_error(("", "must list at least one address"))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EmailSettings:
        problems = []
        if self.tls and self.starttls:
            problems.append(("tls", "set either tls (implicit TLS, usually port 465) or starttls, not both"))
        if self.username is not None and self.password is None:
            problems.append(("password", "required with username: set password or password_file"))
        if self.password is not None and self.username is None:
            problems.append(("username", "required with password: set username"))
        if problems:
            raise config_error(*problems)
        return self


class ActionsSettings(Section):
    """``[actions]``: whether rules may change campaigns, how much at once, and how they yield to people.

    ``max_writes`` real writes within any ``window`` (default: ``[monitor] interval``), across every advertiser and
    every replica sharing the database, open the circuit breaker: nothing more is written until ``tiktok-monitor
    actions resume`` or ``breaker_reset`` has passed. ``max_per_cycle`` is the deprecated name of ``max_writes``
    (``check`` warns about it). ``min_budget``: minimum daily budgets per currency (campaign, ad group), used
    before TikTok's documented ones; in a currency with neither, TikTok's answer decides."""

    enabled: Boolean = True
    max_writes: Integer = Field(default=10, ge=1, le=MAX_COUNT)
    window: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(DAY, "it counts recent writes")] | None = None
    breaker_reset: Annotated[Duration, at_least(timedelta(minutes=1)), at_most(YEAR, LONG)] = timedelta(hours=1)
    max_per_cycle: Integer | None = Field(default=None, ge=1, le=MAX_COUNT, json_schema_extra={"deprecated": True})
    max_change_per_day: ChangeLimit = "+100%"
    override_hold: Annotated[Duration, at_least(timedelta(0)), at_most(YEAR, LONG)] = timedelta(hours=24)
    min_budget: MinBudgets = Field(default_factory=dict)

    @model_validator(mode="after")
    def _old_name(self) -> ActionsSettings:
        if self.max_per_cycle is None:
            return self
        if "max_writes" in self.model_fields_set:
            raise config_error(("max_per_cycle", "the deprecated name of max_writes: set max_writes only"))
        object.__setattr__(self, "max_writes", self.max_per_cycle)  # the alias; the model is frozen
        return self

    @property
    def change_percent(self) -> float | None:
        """``max_change_per_day`` as a percentage (100.0 for "+100%"), None when it is an amount."""
        value = self.max_change_per_day
        return float(value.strip().lstrip("+").rstrip("%")) if isinstance(value, str) else None


class WebhookSettings(Section):
    """``[webhook]``: every alert as a JSON POST (schema in docs/notifications.md), optionally HMAC-signed."""

    url: Secret
    secret: Secret | None = None
    timeout: Timeout = timedelta(seconds=10)

    @field_validator("url")
    @classmethod
    def _is_url(cls, value: SecretStr) -> SecretStr:
        if urlsplit(value.get_secret_value()).scheme not in ("http", "https"):
            raise config_error(("", "expected an http(s) URL (not shown: it is a secret)"))
        return value


class NotifySettings(Section):
    """``[notify]``: how messages are grouped and delivered, and operational alerts."""

    group_limit: Integer = Field(default=5, ge=1, le=50)
    interval: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(HOUR, "the outbox is looked at often")] = (
        timedelta(seconds=5)
    )
    send_timeout: Timeout = timedelta(minutes=2)
    max_attempts: Integer = Field(default=20, ge=1, le=MAX_COUNT)
    retry_first: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(DAY, RETRY)] = timedelta(seconds=30)
    retry_max: Annotated[Duration, at_least(timedelta(seconds=1)), at_most(DAY, RETRY)] = timedelta(hours=1)
    ops_cooldown: Annotated[Duration, at_least(timedelta(minutes=1)), at_most(YEAR, LONG)] = timedelta(hours=6)
    unreachable_after: Integer = Field(default=3, ge=1, le=MAX_COUNT)
    ops_channels: list[NonEmptyStr] | None = None


class HealthSettings(Section):
    """``[health]``: the /healthz and /metrics endpoint."""

    enabled: Boolean = True
    listen: str = "127.0.0.1:9108"
    #: DNS names the endpoint answers to besides IP addresses and ``localhost`` (DNS-rebinding protection).
    allowed_hosts: tuple[str, ...] = ()

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        from monitor.health import parse_listen  # the endpoint's own parser: one definition of HOST:PORT

        try:
            parse_listen(value)
        except ValueError as exc:
            raise config_error(("", str(exc))) from None
        return value


class PageSettings(Section):
    """``[page]``: the status page (HTML, for people) that the daemon serves: beside ``/healthz`` on ``[health]
    listen`` unless ``listen`` gives it a listener of its own. Off the loopback it needs ``token`` and/or ``users``
    (basic auth: name = password; ``users_file`` holds ``name:password`` lines)."""

    SYNONYMS: ClassVar[dict[str, str]] = {"password": "users", "passwords": "users", "auth_token": "token"}

    enabled: Boolean = False
    listen: str | None = None
    token: Secret | None = None
    users: dict[NonEmptyStr, Secret] = Field(default_factory=dict)
    refresh: Annotated[Duration, at_least(timedelta(seconds=2)), at_most(HOUR, "the page refreshes itself")] = (
        timedelta(seconds=30)
    )

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        from monitor.health import parse_listen

        if value is None:
            return None
        try:
            parse_listen(value)
        except ValueError as exc:
            raise config_error(("", str(exc))) from None
        return value

    @field_validator("users", mode="before")
    @classmethod
    def _users_lines(cls, value: Any) -> Any:
        """``users_file``: one ``name:password`` a line (``#`` comments); a line is never quoted in an error."""
        if not isinstance(value, str):
            return value
        users: dict[str, str] = {}
        for number, line in enumerate(value.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, password = line.partition(":")
            if not sep or not name.strip() or not password:
                raise config_error(("", f"line {number} of the users file: expected name:password"))
            users[name.strip()] = password
        return users

    @property
    def authenticated(self) -> bool:
        """Whether the page asks who is there (a token or users are configured)."""
        return self.token is not None or bool(self.users)


class Settings(Section):
    """The whole config.toml. Built by :func:`load_settings`; built in code, ``source`` is None."""

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
    def _page_off_loopback_needs_auth(self) -> Settings:
        from monitor.page.auth import is_loopback  # the page's own rule: one definition of the loopback

        page = self.page
        if not page.enabled or page.authenticated:
            return self
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


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


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
