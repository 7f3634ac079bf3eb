"""Approvals that expired (:func:`expire_due`): the daemon's expiry job, run with the outbox job by any replica
(idempotent), and by every ``once``. Pending approvals past ``expires_at`` become ``expired`` and one
``actions_held`` message per approval says the action was dropped, queued in the same transaction for the rule's
channels (the operational ones when the rule is gone or notifies nobody).

Apart from :mod:`monitor.actions.approve` (deciding one: guards, journal, API), so a poll that acts on nothing
loads none of that (issue 18: ``once`` runs this every time)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from monitor.clock import Clock
from monitor.domain import Account, OpsKind
from monitor.domain.approvals import Approval
from monitor.notify.message import OperationalMessage, notifications
from monitor.notify.names import display_name
from monitor.store.repo import Store
from monitor.store.values import Notification

log = logging.getLogger("monitor.actions.approve")  # the approvals' logger, as before this module was split off


async def expire_due(store: Store, clock: Clock, channels_of: Callable[[Approval], Sequence[str]]) -> list[Approval]:
    """Drop the approvals that expired (see the module docstring); returns those this call dropped."""
    now = clock.now()

    def compose(approval: Approval) -> list[Notification]:
        message = expired_message(approval, now)
        log.warning("approval %s expired: %s", approval.id, message.detail)
        return notifications(message, channels_of(approval))

    return await store.approvals.expire_due(now, compose)


def expired_message(approval: Approval, now: datetime) -> OperationalMessage:
    """The message of an approval that expired: what was dropped, asked when, for which values."""
    values = ", ".join(f"{k} = {v}" for k, v in approval.reason.items())
    detail = (
        f"approval {described(approval)} expired at {approval.expires_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC before "
        f"anyone approved it: the action was dropped (nothing was written). Asked at "
        f"{approval.requested_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" + (f" ({values})" if values else "") + "; the "
        "rule acts again when its alert fires anew"
    )
    return OperationalMessage(
        OpsKind.ACTIONS_HELD, f"approval:{approval.id}", detail, approval.requested_at, now,
        advertiser=Account(approval.advertiser_id),
    )  # fmt: skip


def described(approval: Approval) -> str:
    """The approval as messages name it, its entity's name shown as names from TikTok are."""
    return approval.describe(display_name(approval.entity_name))
