"""One poll of one advertiser, as the design's seven steps: fetch, store, diff, evaluate, lifecycle, act, notify.

Everything a poll writes (snapshot, alert states, outbox rows, the poll's record) commits in one transaction
under the advertiser's lease (see ``Store.poll``); delivery happens later, in the outbox sender, so Slack being
down never slows a poll. Only this module knows the order of the steps; each step lives in its own package.

A poll tells where it is in a :class:`~monitor.poll_stages.Progress` its caller may hand in (the
:class:`~monitor.poll_stages.Stage` it runs): the poller names that stage when the poll deadline cancels the poll,
and the poll's record in the store names it too.

Step 6 (act) runs inside that block, under the lease, so no other poll or revert writes to the advertiser at the
same time. Its journal entries are their own transactions, written before and after each API call; the holds
and messages it produces commit with the poll (see :mod:`monitor.actions.runner` for what a crash leaves).

Around the steps: what a poll fetches is :mod:`monitor.fetch_plan`, where it is :mod:`monitor.poll_stages`, what it
logs :mod:`monitor.poll_log`, and adaptive polling's look ahead :mod:`monitor.crossing` (``Progress``, ``Stage``,
``fetch_plan`` and ``ruleset_plan`` are re-exported here).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from monitor.actions import ActionRunner
from monitor.actions.breaker import Breaker
from monitor.adaptive import Cadence
from monitor.clock import Clock
from monitor.crossing import CrossingForecast
from monitor.domain import EntityKey, Snapshot, moved_keys
from monitor.fetch import fetch_snapshot
from monitor.fetch_plan import fetch_plan, ruleset_plan
from monitor.notify.compose import alert_notifications
from monitor.notify.message import OperationalMessage, notifications
from monitor.poll_log import log_stage_seconds, log_tallies, log_transitions
from monitor.poll_stages import Progress, Stage
from monitor.polls import PollSummary
from monitor.rules.engine import evaluate
from monitor.rules.lifecycle import advance, firing_counts
from monitor.rules.model import RuleSet
from monitor.rules.mute import Muting
from monitor.smart_plus_seen import SmartPlusSeen
from monitor.store.diff import diff_snapshots
from monitor.store.repo import Store
from monitor.store.values import Notification
from monitor.tiktok.callcount import counting_calls
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import AdvertiserInfo
from monitor.whochanged import wanted, who_changed, with_changed_by

log = logging.getLogger(__name__)


class Pipeline:
    """Polls advertisers with one client, one store and the rule set ``rules()`` returns at the time of the
    poll (so a reload swaps rules between polls, never during one). ``actions`` runs step 6 (default: an
    :class:`ActionRunner` with default guard settings and the store's circuit breaker); operational messages of
    that step (failed, unconfirmed or held-back actions) go to ``ops_channels`` (none: they are only logged)."""

    def __init__(
        self,
        *,
        client: TikTokClient,
        store: Store,
        rules: Callable[[], RuleSet],
        clock: Clock,
        group_limit: int = 5,
        actions: ActionRunner | None = None,
        ops_channels: Sequence[str] = (),
        adaptive: Callable[[], Cadence | None] | None = None,
    ) -> None:
        self._client = client
        #: Adaptive polling: the interval and gap while it is on (None: off), read once per poll; each poll then
        #: looks for spend about to make a rule fire before the next scheduled poll, PollSummary.crossing
        #: (monitor.crossing: the paces of the last interval and the one before it, kept there)
        self._adaptive = adaptive or (lambda: None)
        self._forecast = CrossingForecast()
        self._store = store
        self._smart_plus = SmartPlusSeen(store)  # what the ad reports guess from (monitor.smart_plus_seen)
        self._rules = rules
        self._clock = clock
        self._group_limit = group_limit
        self._actions = actions or ActionRunner(client, store.journal, clock, breaker=Breaker(store.breaker, clock))
        self._ops_channels = tuple(ops_channels)

    def reconfigure(self, *, group_limit: int, ops_channels: Sequence[str]) -> None:
        """A reloaded configuration's ``[notify] group_limit`` and operational channels, from the next poll on."""
        self._group_limit = group_limit
        self._ops_channels = tuple(ops_channels)

    @property
    def actions(self) -> ActionRunner:
        return self._actions

    @property
    def client(self) -> TikTokClient:
        return self._client

    @property
    def store(self) -> Store:
        return self._store

    async def poll(self, info: AdvertiserInfo, now: datetime, progress: Progress | None = None) -> PollSummary:
        """Run the seven steps for the advertiser of ``info`` at ``now``. Raises what stops the poll (API, lease
        or store errors, a cancellation): nothing of the poll is written then, and the previous snapshot stays the
        latest. (A cancellation that comes while the poll's COMMIT runs waits for it: a poll it committed returns
        as done; see ``Store.poll``.) ``progress`` (optional) follows the stage the poll is in."""
        progress = progress if progress is not None else Progress()
        progress.start()
        started = time.perf_counter()
        advertiser_id = info.id
        ruleset = self._rules().enabled()  # enabled = false: checked at load, never evaluated
        cadence = self._adaptive()  # once: a reload during the poll cannot make its two uses disagree
        # fetched for this advertiser (reports, history, Change Log): only what the rules whose [rule.match] admits
        # it (id, currency) read
        applying = ruleset.applying_to(advertiser_id, info.currency)
        plan = ruleset_plan(applying)
        with counting_calls() as calls:  # this poll's requests, not those of polls running beside it
            async with self._store.poll(advertiser_id, now, fingerprints=True) as poll:
                try:
                    # 1 fetch (under the lease: two replicas never poll one advertiser at once)
                    progress.enter(Stage.FETCH)
                    known = poll.known  # lends ids and names (read lean: no state made of the previous poll yet)
                    fetched = await fetch_snapshot(
                        self._client,
                        info,
                        plan,
                        now,
                        self._store.hourly,
                        known=known,
                        smart_plus_known=self._smart_plus.asker(advertiser_id, poll.previous_id),
                    )
                    for error in fetched.errors:
                        poll.note_error(error)
                    poll.note_smart_plus(fetched.smart_plus)  # for the next poll's guess, whichever process runs it
                    self._smart_plus.note(advertiser_id, poll.poll_id, fetched.smart_plus)
                    # 2 store and 3 diff
                    progress.enter(Stage.STORE)
                    poll.save(fetched.states, levels=plan.levels, finite=fetched.finite)
                    # what changed, before the rules read the previous poll (decoded once where they read it;
                    # adaptive polling reads every level's previous spend)
                    await poll.compare(applying.previous_metric_levels() if cadence is None else None)
                    current = poll.current
                    progress.enter(Stage.DIFF)
                    # the entities that are not their own previous state (the store's comparison made the new
                    # state stand for each unchanged one): the diff and the rules look only at them one by one
                    moved = None if poll.previous is None else moved_keys(poll.previous.entities, current.entities)
                    changes = diff_snapshots(poll.previous, current, metrics=False, moved=moved)  # fields only
                    asked = wanted(applying, poll.previous, changes)  # who changed status or budget: Change Log
                    if asked and poll.previous is not None:
                        who = await who_changed(self._client, advertiser_id, asked, poll.previous.taken_at, now)
                        if who.error is not None:
                            poll.note_error(who.error)
                        current = with_changed_by(current, who.by)
                        moved = None if moved is None else [*moved, *who.by]  # those states are made anew
                        poll.note_changed_by(who.by)  # kept with the poll: a backtest sees what the rules saw
                    # 4 evaluate and 5 lifecycle
                    progress.enter(Stage.EVALUATE)
                    evaluation = evaluate(
                        ruleset, current, poll.previous, now, zone=info.timezone, currency=info.currency, moved=moved
                    )
                    for error in evaluation.errors:
                        poll.note_error(error)
                    crossing = self._forecast.crossing(
                        cadence, ruleset, current, poll.previous, info, now, evaluation.findings
                    )
                    progress.enter(Stage.LIFECYCLE)
                    reads = await self._store.poll_reads(advertiser_id, now)  # alert states, silences, holds
                    alert_states = reads.alert_states
                    # muted alerts (silences, rules' active times) keep their lifecycle but neither notify nor act
                    silences = reads.silences
                    names = _names(poll.previous) if silences else None
                    mute = Muting.of(advertiser_id, now, info.timezone, silences, names)
                    lifecycle = advance(ruleset, alert_states, evaluation, now, mute)
                    poll.save_alert_states(lifecycle.states)
                    poll.delete_alert_states(lifecycle.removed)
                    log_tallies(ruleset, evaluation, alert_states, lifecycle)  # at DEBUG only
                    # 6 act: settle and verify earlier writes, then guarded, journaled writes for what the rules ask
                    progress.enter(Stage.ACT)
                    acted = await self._actions.act(
                        info,
                        lifecycle.transitions,
                        current=current,
                        previous=poll.previous,
                        changes=changes,
                        polled=plan.levels,
                        holds=reads.holds,
                        now=now,
                        poll_id=poll.poll_id,
                        # read only when a rule waits for approval: the others never queue one
                        waiting=await self._store.approvals.waiting(advertiser_id)
                        if any(rule.approve is not None for rule in ruleset)
                        else (),
                    )
                    poll.end_holds(
                        acted.end_holds
                    )  # replaced by a hold seen again this poll; run-out holds need nothing
                    poll.save_holds(acted.save_holds)
                    poll.save_approvals(acted.approvals)  # actions of rules with approve: they wait for a person
                    # 7 notify: outbox rows in the same transaction as the alert states, with what the actions did
                    progress.enter(Stage.NOTIFY)
                    rows = alert_notifications(
                        lifecycle.transitions, info, now, actions=acted.outcomes(), group_limit=self._group_limit
                    )
                    rows += self._ops_rows(acted.messages)
                    poll.enqueue(*rows)
                    poll.count_calls(calls.n)
                except asyncio.CancelledError:  # the poll deadline (or shutdown): the poll's record names the stage
                    poll.note_error(f"cancelled in stage {progress.stage}")
                    raise
                progress.enter(Stage.COMMIT)
        progress.stop()
        log_stage_seconds(advertiser_id, progress)  # at DEBUG only
        log_transitions(lifecycle.transitions, info)  # committed: the alerts' states are what the log says
        return PollSummary(
            advertiser_id=advertiser_id,
            advertiser_name=info.name,
            entities=len(fetched.states),
            changes=len(changes.appeared) + len(changes.disappeared) + len(changes.changed),
            calls=calls.n,
            findings=len(evaluation.findings),
            findings_by_rule=Counter((f.rule.name, f.rule.severity.value) for f in evaluation.findings),
            firing_by_rule=firing_counts(ruleset, alert_states, lifecycle),
            transitions=tuple(
                f"{t.kind} {t.rule.name} {t.alert.level.value} {t.alert.entity_id}"
                + (" (muted: not notified, no action)" if t.alert.withheld else "")
                for t in lifecycle.transitions
                if t.kind != "pending"
            ),
            notifications=len(rows),
            actions=acted.taken,
            errors=fetched.errors + evaluation.errors,
            seconds=time.perf_counter() - started,
            stage_seconds={stage.value: seconds for stage, seconds in progress.seconds.items()},
            crossing=crossing,
        )

    def _ops_rows(self, messages: Sequence[OperationalMessage]) -> list[Notification]:
        rows: list[Notification] = []
        for message in messages:
            log.warning("operational alert %s for %s: %s", message.kind.value, message.subject, message.detail)
            rows.extend(notifications(message, self._ops_channels))
        return rows


def _names(snapshot: Snapshot | None) -> dict[EntityKey, str]:
    """The entity names of the previous snapshot: what name matchers of silences read for an entity gone since."""
    if snapshot is None:
        return {}
    return {key: entity.name for key, entity in snapshot.entities.items() if entity.name is not None}


__all__ = ["Pipeline", "Progress", "Stage", "fetch_plan", "ruleset_plan"]
