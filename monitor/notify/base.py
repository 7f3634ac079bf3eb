"""What a notification channel is: something that delivers one message, and says how it failed.

A :class:`Channel` renders a message (monitor.notify.message) with its templates and delivers it to its
default destination or to ``target`` (the part after the colon in ``"slack:#other"``,
``"email:someone@example.com"``). It raises :class:`~monitor.notify.errors.TransientDeliveryError` or
:class:`~monitor.notify.errors.PermanentDeliveryError`; anything else escaping ``send`` is a bug, which the outbox
treats as transient (and logs with its traceback).

``delivery_id`` is stable for one outbox row across attempts and restarts. Channels put it where the receiver can
deduplicate on it: Slack message metadata, the e-mail Message-ID, the webhook's ``X-Monitor-Delivery`` header.

A channel that can tell after the fact whether a delivery arrived implements :class:`Reconciler` too; the outbox
asks it before re-sending a message that may already have been delivered (see monitor.notify.outbox).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol, runtime_checkable

from monitor.notify.message import Message


@runtime_checkable
class Channel(Protocol):
    async def send(self, message: Message, target: str | None, *, delivery_id: str | None = None) -> None:
        """Deliver ``message`` (to ``target`` if given, else to the configured destination), or raise a
        DeliveryError. Returning means the receiver accepted it."""
        ...


@runtime_checkable
class Reconciler(Protocol):
    async def find_delivered(
        self, target: str | None, since: datetime, delivery_ids: Collection[str]
    ) -> set[str] | None:
        """Which of ``delivery_ids`` the destination already holds (delivered no earlier than ``since``).

        None means "cannot tell" (e.g. a missing permission): the caller then re-sends, at least once.
        Raises TransientDeliveryError when the destination cannot be asked right now."""
        ...


def split_channel(spec: str) -> tuple[str, str | None]:
    """``"slack:#other"`` -> ``("slack", "#other")``; ``"email"`` -> ``("email", None)``."""
    name, sep, target = spec.partition(":")
    return name.strip(), (target.strip() or None) if sep else None
