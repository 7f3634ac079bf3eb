"""What one poll of one advertiser came to: :class:`PollOutcome` (ok, paused or failed) and, for a poll that
ran, its :class:`PollSummary`.

The per-advertiser boundary (:class:`monitor.poller.AdvertiserPoller`) returns an outcome for every poll and
raises for none; the scheduler, ``/healthz``, ``/metrics``, ``once`` and ``demo`` read it. A paused advertiser
(its token was revoked, or its account is not active) is not watched, so it is never counted as a success. An
advertiser of a shard another replica owns comes back ``not_mine``: neither a success nor a failure here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.actions.base import Taken


class PollResult(enum.StrEnum):
    OK = "ok"  # the seven steps ran and committed
    PAUSED = "paused"  # not polled on purpose until its cause goes (reason says which); people were told
    FAILED = "failed"  # the poll ran and failed; nothing of it was written (or, said so: a COMMIT let go, unknown)
    NOT_MINE = "not_mine"  # another replica owns the advertiser's shard: not polled here, and not a failure


@dataclass(frozen=True)
class PollSummary:
    """What one poll that ran did, for ``once``'s summary and the metrics (findings per rule)."""

    advertiser_id: str
    advertiser_name: str | None = None
    entities: int = 0
    changes: int = 0
    calls: int = 0
    findings: int = 0
    findings_by_rule: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (rule, severity) -> count
    firing_by_rule: Mapping[tuple[str, str], int] = field(default_factory=dict)  # firing after the poll, every rule
    transitions: tuple[str, ...] = ()  # "firing overspend 1801...", for the terminal
    notifications: int = 0
    actions: tuple[Taken, ...] = ()  # what each action the rules asked for became (done, dry run, skipped, failed)
    errors: tuple[str, ...] = ()
    seconds: float = 0.0
    #: wall seconds per stage of the poll (monitor.poll_stages.Stage values: start, fetch, ..., commit)
    stage_seconds: Mapping[str, float] = field(default_factory=dict)
    #: Adaptive polling: when spend is projected to make a rule fire before the next scheduled poll (None: no
    #: rule would, or adaptive polling is off; monitor.adaptive)
    crossing: datetime | None = None


@dataclass(frozen=True)
class PollOutcome:
    """One poll of one advertiser: ``ok`` (with its ``summary``), ``paused`` or ``failed`` (with the ``reason``).

    ``consecutive_failures`` is the advertiser's failure streak after this poll (0 after a success; a paused
    poll leaves it as it was); ``since`` when the advertiser stopped being watched (paused or failed; None for
    ok); ``seconds`` how long the poll took.
    """

    advertiser_id: str
    result: PollResult
    reason: str | None = None
    summary: PollSummary | None = None
    advertiser_name: str | None = None
    consecutive_failures: int = 0
    since: datetime | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.result is PollResult.OK

    @property
    def paused(self) -> str | None:
        """Why the advertiser is paused (not polled), or None when it was polled."""
        return self.reason if self.result is PollResult.PAUSED else None
