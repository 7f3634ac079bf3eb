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
from dataclasses import dataclass
from datetime import datetime

from monitor.actions import ActionRunner
from monitor.actions.breaker import Breaker
from monitor.actions.budget import spend_needs
from monitor.clock import Clock
from monitor.domain import Level
from monitor.fetch import FetchPlan, LevelPlan, fetch_snapshot
from monitor.notify.compose import alert_notifications
from monitor.notify.message import OperationalMessage, notifications
from monitor.polls import PollSummary
from monitor.rules.engine import evaluate
from monitor.rules.lifecycle import advance, firing_counts
from monitor.rules.model import Needs, RuleSet
from monitor.store.diff import diff_snapshots
from monitor.store.repo import Store
from monitor.store.values import Notification
from monitor.tiktok.callcount import counting_calls
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.models import DEFAULT_FIELDS, AdvertiserInfo

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
    """The stage a running poll is in; :meth:`Pipeline.poll` moves it on, its caller reads it."""

    stage: Stage = Stage.START


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
    ) -> None:
        self._client = client
        self._store = store
        self._rules = rules
        self._clock = clock
        self._group_limit = group_limit
        self._actions = actions or ActionRunner(client, store.journal, clock, breaker=Breaker(store.breaker, clock))
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
        progress.stage = Stage.START
        started = time.perf_counter()
        advertiser_id = info.id
        ruleset = self._rules()
        plan = ruleset_plan(ruleset)
        with counting_calls() as calls:  # this poll's requests, not those of polls running beside it
            async with self._store.poll(advertiser_id, now) as poll:
                try:
                    # 1 fetch (under the lease: two replicas never poll one advertiser at once)
                    progress.stage = Stage.FETCH
                    fetched = await fetch_snapshot(self._client, info, plan, now)
                    for error in fetched.errors:
                        poll.note_error(error)
                    # 2 store and 3 diff
                    progress.stage = Stage.STORE
                    poll.save(fetched.states, levels=plan.levels)
                    current = poll.current
                    progress.stage = Stage.DIFF
                    changes = diff_snapshots(poll.previous, current)
                    # 4 evaluate and 5 lifecycle
                    progress.stage = Stage.EVALUATE
                    evaluation = evaluate(ruleset, current, poll.previous, now, zone=info.timezone)
                    for error in evaluation.errors:
                        poll.note_error(error)
                    progress.stage = Stage.LIFECYCLE
                    alert_states = await self._store.alerts.load(advertiser_id)
                    lifecycle = advance(ruleset, alert_states, evaluation, now)
                    poll.save_alert_states(lifecycle.states)
                    poll.delete_alert_states(lifecycle.removed)
                    # 6 act: settle and verify earlier writes, then guarded, journaled writes for what the rules ask
                    progress.stage = Stage.ACT
                    acted = await self._actions.act(
                        info,
                        lifecycle.transitions,
                        current=current,
                        previous=poll.previous,
                        changes=changes,
                        polled=plan.levels,
                        holds=await self._store.holds.active(advertiser_id, now),
                        now=now,
                        poll_id=poll.poll_id,
                    )
                    poll.end_holds(
                        acted.end_holds
                    )  # replaced by a hold seen again this poll; run-out holds need nothing
                    poll.save_holds(acted.save_holds)
                    # 7 notify: outbox rows in the same transaction as the alert states, with what the actions did
                    progress.stage = Stage.NOTIFY
                    rows = alert_notifications(
                        lifecycle.transitions, info, now, actions=acted.outcomes(), group_limit=self._group_limit
                    )
                    rows += self._ops_rows(acted.messages)
                    poll.enqueue(*rows)
                    poll.count_calls(calls.n)
                except asyncio.CancelledError:  # the poll deadline (or shutdown): the poll's record names the stage
                    poll.note_error(f"cancelled in stage {progress.stage}")
                    raise
                progress.stage = Stage.COMMIT
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
                for t in lifecycle.transitions
                if t.kind != "pending"
            ),
            notifications=len(rows),
            actions=acted.taken,
            errors=fetched.errors + evaluation.errors,
            seconds=time.perf_counter() - started,
        )

    def _ops_rows(self, messages: Sequence[OperationalMessage]) -> list[Notification]:
        rows: list[Notification] = []
        for message in messages:
            log.warning("operational alert %s for %s: %s", message.kind.value, message.subject, message.detail)
            rows.extend(notifications(message, self._ops_channels))
        return rows


__all__ = ["Pipeline", "Progress", "Stage", "fetch_plan", "ruleset_plan"]
