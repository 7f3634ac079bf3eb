"""A notification sender as its own process, for the crash and multi-sender tests: deliver until nothing is
pending, then exit.

Usage: python notify_sender_proc.py DATABASE_URL SLACK_API_URL [--schema S] [--webhook URL] [--send-timeout SECONDS]
       [--batch N]

Delivers through Slack (the bot token API at SLACK_API_URL) or, with ``--webhook``, through the generic webhook.
Prints one JSON line per round that found work (the SendReport) and exits 0 once no row is pending: rows claimed
by a sender that died are delivered once their claim has expired. The tests SIGKILL it mid-delivery, start it
again, and run several at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from datetime import timedelta

from monitor.clock import SystemClock
from monitor.notify import Backoff, Channel, OutboxSender, SlackChannel, Templates, WebhookChannel
from monitor.store import Store

SLACK_TOKEN = "xoxb-test-token"


async def main(args: argparse.Namespace) -> None:
    store = await Store.open(args.database_url, schema=args.schema, owner="sender-process")
    templates = Templates()
    channels: dict[str, Channel]
    if args.webhook:
        channels = {"webhook": WebhookChannel(args.webhook, templates, timeout=60)}
    else:
        slack = SlackChannel(templates, token=SLACK_TOKEN, channel="#ads-alerts", base_url=args.slack_api, timeout=60)
        channels = {"slack": slack}
    sender = OutboxSender(
        store,
        channels,
        SystemClock(),
        batch=args.batch,
        send_timeout=args.send_timeout,
        backoff=Backoff(first=timedelta(seconds=0.5), jitter=0.0),
    )
    try:
        while True:
            report = await sender.run_once()
            if report.fetched:
                counts = {name: value for name, value in asdict(report).items() if name != "by_channel"}
                print(json.dumps(counts), flush=True)
            elif await store.outbox.count_pending() == 0:
                break
            else:  # pending rows are claimed by another sender, or wait for their next attempt
                await asyncio.sleep(0.1)
    finally:
        for channel in channels.values():
            if isinstance(channel, WebhookChannel):
                await channel.aclose()
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("slack_api")
    parser.add_argument("--schema")
    parser.add_argument("--webhook")
    parser.add_argument("--send-timeout", type=float, default=120.0)
    parser.add_argument("--batch", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
