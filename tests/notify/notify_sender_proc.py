"""A notification sender as its own process, for the crash tests: deliver every due row through Slack, then exit.

Usage: python notify_sender_proc.py DATABASE_URL SLACK_API_URL

Prints one JSON line per round (the SendReport) and exits 0 once nothing is due. The tests SIGKILL it mid-delivery
and start it again.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict

from monitor.clock import SystemClock
from monitor.notify import OutboxSender, SlackChannel, Templates
from monitor.store import Store

SLACK_TOKEN = "xoxb-test-token"


async def main(database_url: str, api_url: str) -> None:
    store = await Store.open(database_url, owner="sender-process")
    channel = SlackChannel(Templates(), token=SLACK_TOKEN, channel="#ads-alerts", base_url=api_url, timeout=60)
    sender = OutboxSender(store, {"slack": channel}, SystemClock(), batch=4, send_timeout=120)
    try:
        while True:
            report = await sender.run_once()
            print(json.dumps(asdict(report)), flush=True)
            if report.fetched == 0:
                break
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
