"""``tiktok-monitor once --dry-run``: one cycle of the real seven steps that writes nothing anywhere.

The steps are :meth:`Pipeline.poll <monitor.pipeline.Pipeline.poll>`'s own; what they would write goes nowhere:

* the database is opened read-only (:mod:`monitor.preview.readonly`): no lease, no poll record, no snapshot, no
  alert state, hold, journal entry or outbox row; a database that does not exist yet is previewed as empty and
  is neither created nor migrated;
* step 6 runs the real :class:`~monitor.actions.runner.ActionRunner` with read-only stand-ins
  (:mod:`monitor.preview.stand_ins`): the guards decide with the journal's facts, the holds and the circuit
  breaker's count as stored (read, not recorded), and nothing is sent to TikTok;
* step 7's messages are rendered as their channel would render them and printed, not queued;
* the app's shared API budget (a table in the database) is not used: the requests go through this process's
  own rate limiter only (``max_qps``), so a preview beside ``run`` adds its few requests to the app's QPS
  unannounced.

The advertiser/info read (time zone, currency, status) is made fresh, as the first poll of a process makes it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field
from typing import TextIO

from monitor.actions import ActionRunner, GuardSettings
from monitor.actions.base import Decision
from monitor.clock import Clock, SystemClock
from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.pipeline import Pipeline
from monitor.poller import ACTIVE_STATUS
from monitor.polls import PollSummary
from monitor.preview.readonly import db_name
from monitor.preview.report import render_preview
from monitor.preview.stand_ins import PreviewBreaker, PreviewExecutor, PreviewJournal
from monitor.rulebook import RuleBook
from monitor.rules.loader import configured_channels
from monitor.store.values import Notification
from monitor.tiktok.models import AdvertiserInfo
from monitor.wiring import open_preview

log = logging.getLogger(__name__)


@dataclass
class Previewed:
    """One advertiser's preview: its poll's summary (None: not polled, ``problem`` says why), the guards'
    decisions, the messages it would send and what it would record in the journal."""

    advertiser_id: str
    summary: PollSummary | None = None
    problem: str | None = None
    failed: bool = False
    decisions: list[Decision] = field(default_factory=list)
    messages: tuple[Notification, ...] = ()


async def run_preview(settings: Settings, *, out: TextIO | None = None, clock: Clock | None = None) -> int:
    """Preview one cycle over every advertiser and print it; 0 when every advertiser could be previewed, else 1
    (a failed read, an account not active, a token account whose discovery failed)."""
    out = out or sys.stdout
    clock = clock or SystemClock()
    rulebook = RuleBook(settings.monitor.rules, configured_channels(settings))
    preview = await open_preview(settings, clock)
    try:
        store = preview.store
        guards = GuardSettings.from_config(settings.actions, settings.monitor.interval)
        journal = PreviewJournal(store.engine, clock)
        breaker = PreviewBreaker(store.breaker, clock, guards)
        executor = PreviewExecutor()
        assignment = await preview.roster.refresh()
        pipelines = {
            name: Pipeline(
                client=client,
                store=store,
                rules=rulebook,
                clock=clock,
                group_limit=settings.notify.group_limit,
                actions=ActionRunner(
                    client,
                    journal,
                    clock,
                    guards,
                    read_only=preview.roster.read_only,
                    breaker=breaker,
                    executor=executor,
                ),
                ops_channels=list(settings.notify.ops_channels or preview.channel_names),
            )
            for name, client in preview.clients.items()
        }

        async def one(advertiser_id: str) -> Previewed:
            pipeline = pipelines[preview.roster.account_of(advertiser_id)]
            try:
                info = await _info(pipeline, advertiser_id)
                if info.status and info.status != ACTIVE_STATUS:
                    return Previewed(advertiser_id, problem=f"account status {info.status}: not polled", failed=True)
                summary = await pipeline.poll(info, clock.now())
            except (MonitorError, OSError) as exc:
                return Previewed(advertiser_id, problem=f"{type(exc).__name__}: {exc}", failed=True)
            writer = store.unwritten[advertiser_id]
            return Previewed(
                advertiser_id, summary, decisions=executor.decided.get(advertiser_id, []), messages=writer.enqueued
            )

        results = await asyncio.gather(*(one(a) for a in assignment.owners))
        source = preview.note or f"read from {db_name(settings.storage.url)} (read-only)"
        out.write(render_preview(results, journal.would, source, preview.templates, preview.api_calls()))
        for account, why in assignment.failures.items():
            out.write(f"discovery FAILED for token account {account!r}: {why}\n")
    finally:
        await preview.close()
    return 0 if not any(r.failed for r in results) and not assignment.failures else 1


async def _info(pipeline: Pipeline, advertiser_id: str) -> AdvertiserInfo:
    infos = await pipeline.client.advertiser_info([advertiser_id])
    found = next((i for i in infos if i.id == advertiser_id), None)
    return found if found is not None else AdvertiserInfo(advertiser_id, "", None, None, None)


__all__ = ["Previewed", "run_preview"]
