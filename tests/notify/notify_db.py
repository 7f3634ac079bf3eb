"""One database that several senders share (a SQLite file or a PostgreSQL schema), and what arrived where.

(Imported by bare name, like notify_factories.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from notify_factories import ACME, alert, entity
from notify_fakes import FakeSlack, WebhookReceiver

from monitor.notify import notifications
from monitor.store import Store
from monitor.tiktok.models import AdvertiserInfo


@dataclass(frozen=True)
class SharedDatabase:
    """One database several senders (objects or processes) open, each with an engine of its own."""

    backend: str
    url: str
    schema: str | None = None

    async def open(self, owner: str) -> Store:
        return await Store.open(self.url, schema=self.schema, owner=owner)

    def args(self) -> list[str]:
        """The command-line arguments of notify_sender_proc.py that name this database."""
        return [self.url] + (["--schema", self.schema] if self.schema else [])


async def enqueue_alerts(store: Store, count: int, now: datetime, channel: str = "slack") -> None:
    """``count`` alerts of ACME (one campaign each), one outbox row each: ids 1..count."""
    await store.upsert_advertisers([AdvertiserInfo(ACME.id, ACME.name, None, "USD", ACME.timezone)], now)
    rows = [n for i in range(count) for n in notifications(alert(entity(f"18{i:02d}")), [channel])]
    await store.outbox.enqueue(rows, now)


def slack_posts(slack: FakeSlack) -> Counter[str]:
    """How many times each delivery id was posted to Slack."""
    return Counter(m["metadata"]["event_payload"]["delivery_id"] for m in slack.delivered)


def webhook_posts(hook: WebhookReceiver) -> Counter[str]:
    """How many times each delivery id reached the webhook."""
    return Counter(r.headers["X-Monitor-Delivery"] for r in hook.received)
