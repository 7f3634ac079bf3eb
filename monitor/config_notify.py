"""The channels' sections and ``[notify]``: ``[slack]``, ``[email]``, ``[webhook]``, ``[console]``, and how
messages are grouped, delivered and retried.

Part of the settings; :mod:`monitor.config` is the face (:class:`~monitor.config.Settings`, ``load_settings``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from monitor.configtypes import (
    DAY,
    HOUR,
    LONG,
    MAX_COUNT,
    RETRY,
    YEAR,
    Boolean,
    EmailAddress,
    HttpUrl,
    Integer,
    NonEmptyStr,
    Secret,
    Section,
    SlackGroup,
    SlackUser,
    Timeout,
    config_error,
)
from monitor.durations import Duration, at_least, at_most

__all__ = ["ConsoleSettings", "EmailSettings", "NotifySettings", "SlackSettings", "WebhookSettings"]


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
