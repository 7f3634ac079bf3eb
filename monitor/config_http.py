"""``[health]`` and ``[page]``: the daemon's HTTP listeners (/healthz and /metrics, the status page).

Part of the settings; :mod:`monitor.config` is the face (:class:`~monitor.config.Settings`, ``load_settings``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import (
    Field,
    field_validator,
)

from monitor.configtypes import (
    HOUR,
    Boolean,
    NonEmptyStr,
    Secret,
    Section,
    config_error,
)
from monitor.durations import Duration, at_least, at_most
from monitor.listen import parse_listen  # the endpoint's own parser: one definition of HOST:PORT

__all__ = ["HealthSettings", "PageSettings"]


class HealthSettings(Section):
    """``[health]``: the /healthz and /metrics endpoint."""

    enabled: Boolean = True
    listen: str = "127.0.0.1:9108"
    #: DNS names the endpoint answers to besides IP addresses and ``localhost`` (DNS-rebinding protection).
    allowed_hosts: tuple[str, ...] = ()

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
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
        from monitor.appserver import parse_listen

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
