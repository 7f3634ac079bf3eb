"""`tiktok-monitor once`: one full cycle over every advertiser, then a one-screen summary."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from monitor.actions.expiry import expire_due
from monitor.clock import Clock
from monitor.config import Settings
from monitor.domain import Outcome
from monitor.notify.names import display_name
from monitor.polls import PollOutcome, PollResult, PollSummary
from monitor.runtime import Runtime
from monitor.tiktok.models import AdvertiserInfo
from monitor.wiring import open_runtime

if TYPE_CHECKING:
    from monitor.actions import Taken
    from monitor.notify.outbox import SendReport

log = logging.getLogger(__name__)


async def run_once(
    settings: Settings, *, progress: bool = False, out: TextIO | None = None, clock: Clock | None = None
) -> int:
    """Poll every advertiser concurrently (the shared limiter keeps the QPS; the circuit breaker's count of
    writes is the database's, so the cycle as a whole makes at most ``max_writes``), tell people once if the
    breaker opened, deliver what was enqueued, print the summary. Returns 0 when every advertiser was watched
    (every poll succeeded), 1 when one could not be (a poll failed, the advertiser is paused: token revoked,
    account not active; or a token account's discovery failed or found no advertiser), with one line each. An
    open breaker does not change the exit code (every advertiser was watched; people are told)."""
    out = out or sys.stdout
    runtime = await open_runtime(settings, clock=clock)
    try:
        discovery = await runtime.discover()
        advertiser_ids = discovery.advertiser_ids
        await read_infos(runtime, advertiser_ids)

        async def poll(advertiser_id: str) -> PollOutcome:
            outcome = await runtime.poll(advertiser_id)  # never raises: failures come back as outcomes
            if progress:
                print(f"  polled {advertiser_id}", file=sys.stderr)
            return outcome

        results = await asyncio.gather(*(poll(a) for a in advertiser_ids))
        await runtime.breaker.tell(runtime.ops_channels)  # once per opening, with what the whole cycle held back
        await expire_due(runtime.store, runtime.clock, runtime.approval_channels)  # drop expired approvals, tell once
        delivered = await runtime.sender.drain()
        out.write(render_summary(advertiser_ids, results, delivered, runtime.api_calls))
        breaker = await runtime.breaker.status()
        if breaker.is_open and breaker.episode is not None:
            out.write(
                f"circuit breaker OPEN: {breaker.episode.reason}; {breaker.episode.held_count} action(s) held back "
                "(tiktok-monitor actions status; resume with tiktok-monitor actions resume)\n"
            )
        for account, why in discovery.problems.items():
            out.write(f"discovery FAILED for token account {account!r}: {why}\n")
    finally:
        await runtime.close()
    return 0 if all(r.ok for r in results) and not discovery.problems else 1


async def read_infos(runtime: Runtime, advertiser_ids: Sequence[str]) -> None:
    """advertiser/info of every advertiser in one call per token account (100 advertisers a call) and one write of
    them, handed to their pollers: each poller would read and store its own (a call and a transaction per
    advertiser). An account whose call fails, an advertiser the answer leaves out, a write that fails: those
    pollers read their own, as without this, and meet what they meet there."""
    now = runtime.clock.now()
    by_account: dict[str, list[str]] = {}
    for advertiser_id in advertiser_ids:
        by_account.setdefault(runtime.roster.account_of(advertiser_id), []).append(advertiser_id)
    found: list[AdvertiserInfo] = []
    for account, ids in by_account.items():
        try:
            infos = await runtime.clients[account].advertiser_info(ids)
        except Exception as exc:  # anything: each poll then reads its own, and meets (and tells) what it meets there
            log.debug("advertiser/info of token account %r at once failed (each poll reads its own): %s", account, exc)
            continue
        wanted = set(ids)
        found += [info for info in {i.id: i for i in infos}.values() if info.id in wanted]
    if not found:
        return
    try:
        await runtime.store.upsert_advertisers(found, now)
    except Exception as exc:  # a full or locked database, anything: each poll stores its own
        log.debug("storing the advertisers' info at once failed (each poll stores its own): %s", exc)
        return
    for info in found:
        runtime.poller(info.id).prime(info, now)


def render_summary(advertiser_ids: list[str], results: list[PollOutcome], delivered: SendReport, calls: int) -> str:
    lines = [f"{'advertiser':<22} {'name':<24} {'entities':>8} {'changes':>7} {'calls':>5} {'findings':>8} {'msgs':>4}"]
    failed = 0
    ok: list[PollSummary] = []
    for advertiser_id, result in zip(advertiser_ids, results, strict=True):
        if result.result is PollResult.FAILED:
            failed += 1
            lines.append(f"{advertiser_id:<22} FAILED: {result.reason}")
            continue
        if result.summary is None:
            lines.append(f"{advertiser_id:<22} PAUSED: {result.reason}")
            continue
        summary = result.summary
        ok.append(summary)
        name = display_name(summary.advertiser_name, 24) or ""  # names from TikTok: one line, no bidi controls
        lines.append(
            f"{advertiser_id:<22} {name:<24} {summary.entities:>8} {summary.changes:>7} {summary.calls:>5} "
            f"{summary.findings:>8} {summary.notifications:>4}"
        )
        lines.extend(f"    {t}" for t in summary.transitions)
        lines.extend(f"    action: {t.line()}" for t in summary.actions)
        lines.extend(f"    no data: {e}" for e in summary.errors)
    lines.append(
        f"{len(advertiser_ids)} advertiser(s), {failed} failed; {sum(r.entities for r in ok)} entities; "
        f"{calls} API calls; {sum(r.findings for r in ok)} findings; "
        f"{sum(r.notifications for r in ok)} message(s) queued, {delivered.sent} delivered, "
        f"{delivered.retrying} to retry, {delivered.failed} failed"
    )
    lines.append(action_summary([t for r in ok for t in r.actions]))
    return "\n".join(lines) + "\n"


def action_summary(taken: list[Taken]) -> str:
    """ "actions: 1 done, 2 dry run, 0 skipped, 0 failed (journal: tiktok-monitor history)" """
    if not taken:
        return "actions: none asked for by the rules"
    counts = {outcome: sum(1 for t in taken if t.outcome is outcome) for outcome in Outcome}
    shown = [o for o in Outcome if o is not Outcome.AWAITING or counts[o]]  # approvals only when a rule asks
    parts = ", ".join(f"{counts[o]} {o.value}" for o in shown)
    return f"actions: {parts} (journal: tiktok-monitor history)"
