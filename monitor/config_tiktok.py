"""``[tiktok]`` and ``[[tiktok.accounts]]``: where the Business API is, the tokens and the advertisers they watch.

Part of the settings; :mod:`monitor.config` is the face (:class:`~monitor.config.Settings`, ``load_settings``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from monitor.configtypes import (
    Boolean,
    HttpUrl,
    Integer,
    NonEmptyStr,
    NumericId,
    Secret,
    Section,
    Timeout,
    UniqueIds,
    config_error,
)

__all__ = ["DEFAULT_ACCOUNT", "NOTIFY_FREQUENCIES", "AccountSettings", "SubscriptionSettings", "TikTokSettings"]

#: REPORT_DATA_CHANGE's notify_frequency values (tiktok-api.md §9.1).
NOTIFY_FREQUENCIES = ("5_MINUTE", "15_MINUTE", "30_MINUTE", "60_MINUTE")
#: Paths of the health listener (and of the status page beside it) a webhook receiver must not take.
TAKEN_PATHS = ("/", "/healthz", "/metrics", "/login", "/silences", "/journal", "/approvals")


#: The name of the one account of the single-token form (``[tiktok] access_token``).
DEFAULT_ACCOUNT = "default"


class AccountSettings(Section):
    """``[[tiktok.accounts]]``: one access token (an agency's login) and the advertisers it watches."""

    name: NonEmptyStr
    access_token: Secret
    advertiser_ids: UniqueIds = Field(default_factory=list)
    bc_ids: UniqueIds | None = None


class SubscriptionSettings(Section):
    """``[tiktok.subscription]``: TikTok's REPORT_DATA_CHANGE webhook as a trigger to poll an advertiser sooner
    (never the source of truth: polling goes on as scheduled). ``callback_url`` is the public HTTPS URL TikTok
    calls (a reverse proxy in front of ``[health] listen``); ``path`` is where the receiver answers on the health
    listener (default: the callback URL's path)."""

    enabled: Boolean = False
    callback_url: HttpUrl | None = None
    path: str | None = None
    notify_frequency: Literal["5_MINUTE", "15_MINUTE", "30_MINUTE", "60_MINUTE"] = "5_MINUTE"

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        taken = value is not None and any(value == p or (p != "/" and value.startswith(p + "/")) for p in TAKEN_PATHS)
        if value is not None and (not value.startswith("/") or taken):
            why = "expected a path like '/tiktok/report-data-change', not one the health listener uses"
            raise config_error(("", why))
        return value

    @model_validator(mode="after")
    def _needs_url(self) -> SubscriptionSettings:
        if self.enabled and self.callback_url is None:
            raise config_error(("callback_url", "required when enabled: the public URL TikTok calls"))
        if self.enabled and self.path is None and self.receiver_path in TAKEN_PATHS:
            raise config_error(("path", "the callback URL has no path of its own: set path (e.g. '/tiktok/hook')"))
        return self

    @property
    def receiver_path(self) -> str:
        """Where the receiver answers: ``path``, or the callback URL's path."""
        return self.path or (urlsplit(self.callback_url or "").path or "/")


class TikTokSettings(Section):
    """``[tiktok]``: where the Business API is and how to use it; one token, or several ``accounts``."""

    #: What people write for our keys: suggested before the closest spelling (see tomlmessages).
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
    subscription: SubscriptionSettings = Field(default_factory=SubscriptionSettings)

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

    @model_validator(mode="after")
    def _subscription_needs_app(self) -> TikTokSettings:
        if not self.subscription.enabled:
            return self
        why = "[tiktok.subscription] is enabled (subscribing takes the app's credentials)"
        keys = [key for key in ("app_id", "secret") if getattr(self, key) is None]
        missing = [(key, f"required when {why}: set {key}") for key in keys]
        if missing:
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
