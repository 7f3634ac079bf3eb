"""Notifications: messages, templates, channels (Slack, e-mail, webhook) and the outbox sender.

The pipeline turns lifecycle transitions into messages (:mod:`monitor.notify.message`), groups them
(:func:`group_alerts`) and enqueues them in the poll's transaction (:func:`notifications` -> ``poll.enqueue``);
the :class:`OutboxSender`, running as its own task, delivers them. Operational alerts are decided by
:func:`monitor.notify.ops.decide`. See docs/notifications.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.lazy import lazy_exports
from monitor.notify.base import Channel, Reconciler, split_channel
from monitor.notify.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from monitor.notify.grouping import group_alerts
from monitor.notify.links import ads_manager_url
from monitor.notify.message import (
    Action,
    AlertEntity,
    AlertKind,
    AlertMessage,
    MatchedValue,
    Message,
    OperationalMessage,
    RuleInfo,
    from_json,
    notifications,
    to_json,
)
from monitor.notify.ops import OpsDecision, OpsEvent, OpsPolicy, decide
from monitor.notify.units import format_value, unit_for

if TYPE_CHECKING:
    from monitor.notify.channels import build_channels, close_channels
    from monitor.notify.email import EmailChannel
    from monitor.notify.outbox import Backoff, OutboxSender, SendReport, delivery_id
    from monitor.notify.slack import SlackChannel
    from monitor.notify.templates import Templates
    from monitor.notify.webhook import WebhookChannel

# The channels, templates and the sender load aiohttp, slack_sdk, aiosmtplib and jinja2: only on first use.
__getattr__ = lazy_exports(
    __name__,
    {
        "build_channels": ".channels",
        "close_channels": ".channels",
        "EmailChannel": ".email",
        "Backoff": ".outbox",
        "OutboxSender": ".outbox",
        "SendReport": ".outbox",
        "delivery_id": ".outbox",
        "SlackChannel": ".slack",
        "Templates": ".templates",
        "WebhookChannel": ".webhook",
    },
)

__all__ = [
    "Action",
    "AlertEntity",
    "AlertKind",
    "AlertMessage",
    "Backoff",
    "Channel",
    "DeliveryError",
    "EmailChannel",
    "MatchedValue",
    "Message",
    "OperationalMessage",
    "OpsDecision",
    "OpsEvent",
    "OpsPolicy",
    "OutboxSender",
    "PermanentDeliveryError",
    "Reconciler",
    "RuleInfo",
    "SendReport",
    "SlackChannel",
    "Templates",
    "TransientDeliveryError",
    "WebhookChannel",
    "ads_manager_url",
    "build_channels",
    "close_channels",
    "decide",
    "delivery_id",
    "format_value",
    "from_json",
    "group_alerts",
    "notifications",
    "split_channel",
    "to_json",
    "unit_for",
]
