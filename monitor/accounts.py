"""Several tokens (an agency's logins): which token polls which advertiser, and what it may do there.

The configuration names one or more token accounts (``[[tiktok.accounts]]``, or the single ``[tiktok]
access_token`` as account "default"). :func:`build_clients` gives each its own client, all sharing ONE
:class:`RateLimiter`: TikTok's QPS budget is per developer app, not per token (tiktok-api.md §8.1). Processes
sharing a database share that budget too when the composition root passes the store's
:class:`~monitor.store.budget.AppBudget` (``[tiktok] shared_budget``, on by default).

:class:`Roster` answers, at start and on every discovery run (hourly), which advertisers to poll and with which
token: the configured ids, or every advertiser the token reaches (oauth2/advertiser/get). An advertiser reached
by two discovering tokens is polled once, with the first account's token. It also learns the token's
Business Center role on each advertiser (bc/asset/get of the configured ``bc_ids``, or of every BC bc/get
lists): where the token is only an ANALYST, :meth:`Roster.read_only` makes every action a dry run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp

from monitor.auth.roles import Role, roles
from monitor.config import AccountSettings, Settings
from monitor.errors import MonitorError
from monitor.rules.model import RuleSet
from monitor.tiktok.client import BcAdvertiser, TikTokClient
from monitor.tiktok.models import AdvertiserInfo
from monitor.tiktok.ratelimit import RateLimiter
from monitor.tiktok.shared_budget import SharedBudget
from monitor.tiktok.throttle import pause_cap
from monitor.tiktok.transport import RetryPolicy, Transport

if TYPE_CHECKING:
    from monitor.metrics import Metrics

log = logging.getLogger(__name__)

#: The note an action gets where the token may only read.
ANALYST_NOTE = "analyst access: dry run"


def build_clients(
    settings: Settings,
    session: aiohttp.ClientSession,
    metrics: Metrics | None = None,
    shared: SharedBudget | None = None,
) -> dict[str, TikTokClient]:
    """One client per token account, in configuration order, all behind one app-wide rate limiter; with
    ``shared`` (the app's budget in the database), that limiter also shares the budget with other processes."""
    tiktok = settings.tiktok
    limiter = RateLimiter(
        tiktok.max_qps,
        max_pause=pause_cap(settings.monitor.interval.total_seconds()),  # a throttle must not outlast a poll
        on_throttle=metrics.throttled if metrics is not None else None,
        on_episode=metrics.throttle_episode if metrics is not None else None,
        shared=shared,
    )
    secrets = settings.secrets()
    clients = {}
    for account in tiktok.token_accounts():
        transport = Transport(
            session,
            base_url=tiktok.base_url,
            access_token=account.access_token.get_secret_value(),
            limiter=limiter,
            retry=RetryPolicy(max_retries=tiktok.max_retries),
            timeout=tiktok.timeout.total_seconds(),
            secrets=secrets,
            on_call=metrics.api_call if metrics is not None else None,
        )
        clients[account.name] = TikTokClient(
            transport,
            app_id=tiktok.app_id,
            secret=tiktok.secret.get_secret_value() if tiktok.secret else None,
        )
    return clients


@dataclass(frozen=True)
class Assignment:
    """The outcome of one discovery: advertiser -> account name (in polling order), roles, and the accounts whose
    discovery failed (account name -> error; they kept what they had)."""

    owners: Mapping[str, str]
    roles: Mapping[str, Role]
    failures: Mapping[str, str] = field(default_factory=dict)

    def analysts(self) -> list[str]:
        return [a for a, role in self.roles.items() if not role.can_write]


class Roster:
    """Which account polls each advertiser, and the token's role there. Fill with :meth:`refresh`."""

    def __init__(self, accounts: Sequence[AccountSettings], clients: Mapping[str, TikTokClient]) -> None:
        self._accounts = list(accounts)
        self._clients = dict(clients)
        self._owners: dict[str, str] = {a: acc.name for acc in self._accounts for a in acc.advertiser_ids}
        self._roles: dict[str, Role] = {}

    def account_of(self, advertiser_id: str) -> str:
        """The account polling the advertiser (the first account for one not known yet)."""
        return self._owners.get(advertiser_id, self._accounts[0].name)

    def role(self, advertiser_id: str) -> Role | None:
        return self._roles.get(advertiser_id)

    def read_only(self, info: AdvertiserInfo) -> str | None:
        """The :class:`~monitor.actions.ActionRunner` hook: why actions on ``info`` must be dry runs."""
        role = self._roles.get(info.id)
        return ANALYST_NOTE if role is not None and not role.can_write else None

    async def refresh(self) -> Assignment:
        """Discover advertisers and roles for every account. A failing account keeps what it had (its
        configured ids, or the previous discovery); the error is logged and returned in the assignment's
        ``failures``, never raised."""
        owners: dict[str, str] = {}
        found_roles: dict[str, Role] = {}
        failures: dict[str, str] = {}
        for account in self._accounts:
            client = self._clients[account.name]
            ids = await self._advertisers(account, client, failures)
            for advertiser_id in ids:
                if advertiser_id in owners:
                    log.info(
                        "advertiser %s is reached by accounts %r and %r: polled with %r",
                        advertiser_id,
                        owners[advertiser_id],
                        account.name,
                        owners[advertiser_id],
                    )
                    continue
                owners[advertiser_id] = account.name
            mine = [a for a in ids if owners.get(a) == account.name]
            found_roles.update(await self._roles_of(account, client, mine))
        self._owners = owners
        self._roles.update(found_roles)
        return Assignment(dict(owners), {a: self._roles[a] for a in owners if a in self._roles}, failures)

    async def _advertisers(self, account: AccountSettings, client: TikTokClient, failures: dict[str, str]) -> list[str]:
        if account.advertiser_ids:
            return list(account.advertiser_ids)
        try:
            return [ref.id for ref in await client.advertisers()]
        except (MonitorError, OSError) as exc:
            previous = [a for a, owner in self._owners.items() if owner == account.name]
            log.warning("account %r: discovering advertisers failed, keeping %d: %s", account.name, len(previous), exc)
            failures[account.name] = str(exc) or type(exc).__name__
            return previous

    async def _roles_of(self, account: AccountSettings, client: TikTokClient, ids: list[str]) -> dict[str, Role]:
        """The token's role on each of ``ids``; none (unknown: actions allowed) when BCs cannot be read."""
        if not ids:
            return {}
        assets: list[BcAdvertiser] = []
        try:
            centers = (
                account.bc_ids if account.bc_ids is not None else [bc.id for bc in await client.business_centers()]
            )
            for bc_id in centers:
                assets += await client.bc_advertisers(bc_id)
        except (MonitorError, OSError) as exc:
            log.warning("account %r: Business Center roles unavailable (actions allowed): %s", account.name, exc)
            return {a: role for a in ids if (role := self._roles.get(a)) is not None}
        return roles(ids, assets)


def analyst_warnings(ruleset: RuleSet, analysts: Iterable[str]) -> list[str]:
    """One line per rule with an action that would meet an advertiser where the token is only an analyst (a rule
    that is a dry run everywhere is left out: analyst access changes nothing for it)."""
    analysts = sorted(set(analysts))
    if not analysts:
        return []
    lines = []
    for rule in ruleset:
        if rule.action is None or rule.dry_run:
            continue
        hit = [a for a in analysts if rule.match.admits_advertiser(a)]
        if hit:
            lines.append(
                f"rule {rule.name!r} ({rule.action.type}) will only dry-run on {', '.join(hit)}: "
                "the token has analyst access there"
            )
    return lines


__all__ = ["ANALYST_NOTE", "Assignment", "Roster", "analyst_warnings", "build_clients"]
