"""One poll of one advertiser, as the design's seven steps: fetch, store, diff, evaluate, lifecycle, act, notify.

Everything a poll writes (snapshot, alert states, outbox rows, the poll's record) commits in one transaction
under the advertiser's lease (see ``Store.poll``); delivery happens later, in the outbox sender, so Slack being
down never slows a poll. Only this module knows the order of the steps; each step lives in its own package.

A poll tells where it is in a :class:`Progress` its caller may hand in (the :class:`Stage` it runs): the poller
names that stage when the poll deadline cancels the poll, and the poll's record in the store names it too.

Step 6 (act) runs inside that block, under the lease, so no other poll or revert writes to the advertiser at the
same time. Its journal entries are their own transactions, written before and after each API call; the holds
and messages it produces commit with the poll (see :mod:`monitor.actions.runner` for what a crash leaves).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.actions import ActionRunner
from monitor.actions.breaker import Breaker
from monitor.actions.budget import spend_needs
from monitor.adaptive import Cadence, first_crossing
from monitor.clock import Clock
from monitor.domain import AlertState, EntityKey, Level, Snapshot
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.notify.compose import alert_notifications
from monitor.notify.message import OperationalMessage, notifications
from monitor.notify.names import display_name
from monitor.pace import PaceBook, paces, velocities
from monitor.phases import next_poll_at
from monitor.polls import PollSummary
from monitor.preview.tally import tallies
from monitor.rules.engine import Evaluation, evaluate
from monitor.rules.lifecycle import AlertKey, Transition, advance, firing_counts
from monitor.rules.lifecycle import Progress as LifecycleProgress
from monitor.rules.model import Needs, RuleSet
from monitor.rules.mute import Muting
from monitor.smart_plus_seen import SmartPlusSeen
from monitor.store.diff import diff_snapshots
from monitor.store.repo import Store
from monitor.store.values import Notification
from monitor.tiktok.callcount import counting_calls
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import DEFAULT_FIELDS, AdvertiserInfo
from monitor.whochanged import wanted, who_changed, with_changed_by

log = logging.getLogger(__name__)


class Stage(enum.StrEnum):
    """Where a poll is: before its seven steps, one of them, or committing."""

    START = "start"  # taking the advertiser's lease, loading the previous snapshot
    FETCH = "fetch"
    STORE = "store"
    DIFF = "diff"
    EVALUATE = "evaluate"
    LIFECYCLE = "lifecycle"
    ACT = "act"
    NOTIFY = "notify"
    COMMIT = "commit"  # writing everything in one transaction, fenced by the lease


@dataclass
class Progress:
    """The stage a running poll is in; :meth:`Pipeline.poll` moves it on (:meth:`enter`), its caller reads it.

    ``seconds`` adds up the wall time spent in each stage (one ``perf_counter`` call per stage change), up to
    the last :meth:`enter` or :meth:`stop`.
    """

    stage: Stage = Stage.START
    seconds: dict[Stage, float] = field(default_factory=dict)
    _since: float | None = None

    def start(self) -> None:
        """Begin a poll: stage START, no time counted yet."""
        self.seconds.clear()
        self.stage, self._since = Stage.START, time.perf_counter()

    def enter(self, stage: Stage) -> None:
        """Move on to ``stage``, adding the time since the last change to the stage left."""
        self.stop()
        self.stage = stage

    def stop(self) -> None:
        """Add the time since the last change to the current stage (the poll ended, or left it)."""
        now = time.perf_counter()
        if self._since is not None:
            self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + now - self._since
        self._since = now


def fetch_plan(needs: Needs, extra: Mapping[Level, Mapping[str, frozenset[str]]] | None = None) -> FetchPlan:
    """What a poll reads for the rules' needs: the default fields of each level the rules look at, and per
    level only the windows and metrics some rule reads, plus ``extra`` ones (what the action guards need)."""
    extra = extra or {}
    plans = {}
    for level in needs.levels | set(extra):
        windows = {window: set(metrics) for window, metrics in needs.windows(level).items()}
        for window, metrics in extra.get(level, {}).items():
            windows.setdefault(window, set()).update(metrics)
        plans[level] = LevelPlan(
            fields=DEFAULT_FIELDS.get(level, ()),
            windows={window: tuple(sorted(metrics)) for window, metrics in windows.items()},
        )
    return FetchPlan(plans)


def ruleset_plan(ruleset: RuleSet) -> FetchPlan:
    """The fetch plan of a rule set: what its conditions read and what its budget actions' guards need."""
    actions = [(rule.level, rule.action.type) for rule in ruleset if rule.action is not None]
    return fetch_plan(ruleset.needs(), spend_needs(actions))


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
        #: Adaptive polling: the interval and gap while it is on (None: off); each poll then looks for spend about
        #: to make a rule fire before the next scheduled poll (monitor.adaptive), PollSummary.crossing, at the
        #: paces of monitor.pace (the last interval's, and the one before it, kept here)
        self._adaptive = adaptive or (lambda: None)
        self._paces = PaceBook()
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
        latest. ``progress`` (optional) follows the stage the poll is in."""
        progress = progress if progress is not None else Progress()
        progress.start()
        started = time.perf_counter()
        advertiser_id = info.id
        ruleset = self._rules().enabled()  # enabled = false: checked at load, never evaluated
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
                    await poll.compare(applying.previous_metric_levels() if self._adaptive() is None else None)
                    current = poll.current
                    progress.enter(Stage.DIFF)
                    changes = diff_snapshots(poll.previous, current, metrics=False)  # fields only: who changed what
                    asked = wanted(applying, poll.previous, changes)  # who changed status or budget: Change Log
                    if asked and poll.previous is not None:
                        who = await who_changed(self._client, advertiser_id, asked, poll.previous.taken_at, now)
                        if who.error is not None:
                            poll.note_error(who.error)
                        current = with_changed_by(current, who.by)
                        poll.note_changed_by(who.by)  # kept with the poll: a backtest sees what the rules saw
                    # 4 evaluate and 5 lifecycle
                    progress.enter(Stage.EVALUATE)
                    evaluation = evaluate(
                        ruleset, current, poll.previous, now, zone=info.timezone, currency=info.currency
                    )
                    for error in evaluation.errors:
                        poll.note_error(error)
                    crossing = self._crossing(ruleset, current, poll.previous, info, now, evaluation)
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
                    if log.isEnabledFor(logging.DEBUG):
                        _log_tallies(ruleset, evaluation, alert_states, lifecycle)
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
        if log.isEnabledFor(logging.DEBUG):  # bench/cycle.py reads this line
            stages = " ".join(f"{stage.value}={seconds:.4f}" for stage, seconds in progress.seconds.items())
            log.debug("advertiser %s: stage seconds %s", advertiser_id, stages)
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

    def _crossing(
        self,
        ruleset: RuleSet,
        current: Snapshot,
        previous: Snapshot | None,
        info: AdvertiserInfo,
        now: datetime,
        evaluation: Evaluation,
    ) -> datetime | None:
        """When spend is projected to make a rule fire before the next scheduled poll (adaptive polling on)."""
        cadence = self._adaptive()
        if cadence is None:
            return None
        ahead = next_poll_at(info.id, cadence.interval, now + timedelta(microseconds=1)) - now
        last = velocities(current, previous)
        before = self._paces.recall(info.id, previous.taken_at if previous is not None else None)
        if previous is not None:  # else no pace is known, not "none grew"
            self._paces.remember(info.id, current.taken_at, last)
        span = current.taken_at - previous.taken_at if previous is not None else timedelta(0)
        speeds = paces(last, before, span, cadence.floor)
        zone, currency = info.timezone, info.currency
        return first_crossing(
            ruleset, current, previous, now, ahead, zone=zone, currency=currency, found=evaluation.findings,
            speeds=speeds,
        )  # fmt: skip

    def _ops_rows(self, messages: Sequence[OperationalMessage]) -> list[Notification]:
        rows: list[Notification] = []
        for message in messages:
            log.warning("operational alert %s for %s: %s", message.kind.value, message.subject, message.detail)
            rows.extend(notifications(message, self._ops_channels))
        return rows


def _log_tallies(
    ruleset: RuleSet, evaluation: Evaluation, before: Mapping[AlertKey, AlertState], lifecycle: LifecycleProgress
) -> None:
    """One debug line per rule: entities evaluated, true, no data, and its alerts firing and pending now."""
    after = {**before, **{state.key: state for state in lifecycle.states}}
    for key in lifecycle.removed:
        after.pop(key, None)
    for tally in tallies(ruleset, evaluation, after.values()):
        log.debug("advertiser %s: %s", evaluation.advertiser_id, tally.line())


def _names(snapshot: Snapshot | None) -> dict[EntityKey, str]:
    """The entity names of the previous snapshot: what name matchers of silences read for an entity gone since."""
    if snapshot is None:
        return {}
    return {key: entity.name for key, entity in snapshot.entities.items() if entity.name is not None}


def log_transitions(transitions: Sequence[Transition], info: AdvertiserInfo) -> None:
    """One INFO line per alert that fired or resolved: rule, entity (id and name), advertiser and the values the
    rule read (``run`` in a terminal shows them without any channel)."""
    advertiser = f"{info.id} {display_name(info.name) or ''}".rstrip()
    for t in transitions:
        if t.kind not in ("firing", "resolved"):
            continue
        name = display_name(t.entity.name if t.entity is not None else None)
        entity = f"{t.alert.level.value} {t.alert.entity_id}" + (f" {name!r}" if name else "")
        values = ", ".join(f"{key} = {value}" for key, value in t.alert.values.items())
        log.info(
            "alert %s: rule %s on %s (advertiser %s)%s%s",
            t.kind,
            t.rule.name,
            entity,
            advertiser,
            f": {values}" if values else "",
            "" if t.notify else " (not notified)",
        )


__all__ = ["Pipeline", "Progress", "Stage", "fetch_plan", "ruleset_plan"]
