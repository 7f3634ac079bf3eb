"""Discovery: which advertisers each token account polls, learnt from the API (``run`` at start and hourly,
``once`` before its cycle), with the token's role on each (:class:`~monitor.accounts.Roster`). An account whose
discovery failed, or whose token reaches no advertiser, is an operational alert (``discovery_failed``), told once;
its recovery is told too."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.accounts import Roster, analyst_warnings
from monitor.domain import OpsKind
from monitor.errors import MonitorError

if TYPE_CHECKING:
    from monitor.clock import Clock
    from monitor.config_tiktok import AccountSettings
    from monitor.ops_alerts import OpsAlerts
    from monitor.rulebook import RuleBook

log = logging.getLogger("monitor.runtime")  # the runtime's logger, as before this was split from it


class DiscoveryError(MonitorError):
    """Discovery failed (or found no advertiser) while no advertiser is known: nothing is watched."""


@dataclass(frozen=True)
class Discovery:
    """What one discovery found: the advertisers to poll, and the token accounts whose discovery failed (or that
    reach no advertiser), with why."""

    advertiser_ids: list[str]
    problems: Mapping[str, str]

    def describe(self) -> str:
        """``discovery failed: token account 'a': ...; token account 'b': ...``"""
        return "discovery failed: " + "; ".join(f"token account {name!r}: {why}" for name, why in self.problems.items())


async def discover(
    roster: Roster, accounts: Iterable[AccountSettings], rulebook: RuleBook, clock: Clock, alerts: OpsAlerts
) -> Discovery:
    """Every advertiser to poll, of every token account (``accounts``): the configured ones, or every advertiser
    the token reaches when its list is empty; ``roster`` learns the token's role on each. Rules with actions that
    will only dry-run (analyst access) are logged as a warning. A failed account is told through ``alerts``."""
    assignment = await roster.refresh()
    analysts = assignment.analysts()
    if analysts:
        log.warning("analyst access only (every action a dry run) on advertiser(s) %s", ", ".join(analysts))
        for line in analyst_warnings(rulebook.current, analysts):
            log.warning("%s", line)
    now = clock.now()
    problems: dict[str, str] = {}
    for account in accounts:
        if account.advertiser_ids:
            continue  # configured: nothing is discovered
        failure = assignment.failures.get(account.name)
        if failure is None and not any(owner == account.name for owner in assignment.owners.values()):
            failure = "the token reaches no advertiser"
        if failure is not None:
            problems[account.name] = failure
        book = alerts.problems_of(f"discovery:{account.name}")
        detail = f"token account {account.name!r}: {failure}" if failure else ""
        await book.observe(OpsKind.DISCOVERY_FAILED, failure is not None, now, detail=detail)  # and told
    return Discovery(list(assignment.owners), problems)
