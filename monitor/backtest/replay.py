"""Replaying stored snapshots through the rules, the alert lifecycle and the guards: what would have fired,
when, and what each action would have done. Pure: snapshots in, a :class:`~monitor.backtest.model.Report` out.

Each stored poll of an advertiser is one step, at the poll's own time (``now``): the engine evaluates the
rules on (current, previous) snapshots as the poll did (:func:`monitor.rules.engine.evaluate`), the lifecycle
advances a simulated map of alert states (``for``, cooldown, resolve: :func:`monitor.rules.lifecycle.advance`),
and the actions the transitions ask for go through the guards with a simulated journal
(:class:`~monitor.backtest.acting.SimulatedActions`). The alert states start empty at ``--since``: an alert
already firing before then is reported as firing at the first poll replayed (with ``for`` counted from there).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterable, Sequence
from datetime import datetime, tzinfo

from monitor.actions.base import Decision, GuardSettings, Verdict
from monitor.backtest.acting import SimulatedActions
from monitor.backtest.model import BLOCKED, DRY_RUN, WOULD_DO, Firing, Report, WouldAct
from monitor.domain import AlertState, Snapshot
from monitor.notify.names import display_name
from monitor.rules.engine import evaluate
from monitor.rules.lifecycle import AlertKey, Transition, advance
from monitor.rules.model import RuleSet
from monitor.rules.mute import Muting
from monitor.store.diff import diff_snapshots

_OUTCOMES = {Verdict.GO: WOULD_DO, Verdict.DRY_RUN: DRY_RUN, Verdict.SKIP: BLOCKED}


class Replayer:
    """One advertiser's replay: call :meth:`step` with each snapshot in poll order; findings go to ``report``."""

    def __init__(
        self,
        ruleset: RuleSet,
        advertiser_id: str,
        zone: tzinfo,
        currency: str | None,
        settings: GuardSettings,
        report: Report,
    ) -> None:
        self.ruleset = ruleset
        self.zone = zone
        self.report = report
        self.alerts: dict[AlertKey, AlertState] = {}
        self.episodes: dict[AlertKey, Firing] = {}  # the newest episode of each alert
        self.currency = currency
        self.actions = SimulatedActions(advertiser_id, zone, currency, settings)
        self.polls = 0
        self.seen: Counter[str] = Counter()  # per rule: entities of its level, summed over the polls
        self.unknown: Counter[str] = Counter()  # per rule: of those, the ones it could not decide (no data)

    def step(self, current: Snapshot, previous: Snapshot | None) -> None:
        """One stored poll: evaluate, advance the alerts, decide the actions."""
        now = current.taken_at
        evaluation = evaluate(self.ruleset, current, previous, now, zone=self.zone, currency=self.currency)
        self.report.errors += [f"{current.advertiser_id} {now.isoformat()}: {e}" for e in evaluation.errors]
        levels = Counter(level for level, _ in current.entities)
        for rule in self.ruleset:
            self.seen[rule.name] += levels[rule.level]
            self.unknown[rule.name] += evaluation.undecided_count(rule.name)
        # the rules' active hours mute as they do in the daemon; silences are not replayed (the question is what
        # the rules would do)
        progress = advance(self.ruleset, self.alerts, evaluation, now, Muting.of(current.advertiser_id, now, self.zone))
        for key in progress.removed:
            self.alerts.pop(key, None)
        for state in progress.states:
            self.alerts[(state.rule, state.level, state.entity_id)] = state
        for transition in progress.transitions:
            self._record(transition, now)
        if self.actions.journal and previous is not None:  # only the backtest's own writes can be overridden
            self.actions.observe(diff_snapshots(previous, current, metrics=False), now)
        for decision in self.actions.act(progress.transitions, now, current.poll_id):
            self._acted(decision, now)
        self.polls += 1
        self.report.polls += 1
        report = self.report
        report.first = now if report.first is None else min(report.first, now)
        report.until = now if report.until is None else max(report.until, now)

    def undecidable(self) -> list[str]:
        """Rules the stored history could not decide at any poll replayed: their level was never stored, or the
        values they read never were (the daemon's rules did not fetch that window or metric)."""
        if not self.polls:
            return []
        out = []
        advertiser = self.actions.advertiser_id
        for rule in self.ruleset:
            if not rule.match.admits_advertiser(advertiser):
                continue
            if self.seen[rule.name] == 0:
                out.append(
                    f"rule {rule.name!r}: no {rule.level.value} of advertiser {advertiser} in the stored history"
                )
            elif self.unknown[rule.name] == self.seen[rule.name]:
                out.append(
                    f"rule {rule.name!r}: no data for what it reads in the stored history of advertiser {advertiser} "
                    "(the rules that ran did not fetch that window or metric)"
                )
        return out

    def _record(self, t: Transition, now: datetime) -> None:
        key = (t.rule.name, t.alert.level, t.alert.entity_id)
        episode = self.episodes.get(key)
        if t.kind == "firing" and t.act:  # a new episode (notified, or quiet within the cooldown)
            entity = t.entity or (t.finding.entity if t.finding is not None else None)
            firing = Firing(
                advertiser_id=t.alert.advertiser_id,
                rule=t.rule.name,
                severity=t.rule.severity.value,
                level=t.alert.level,
                entity_id=t.alert.entity_id,
                entity_name=display_name(entity.name) if entity is not None else None,
                fired_at=now,
                values=dict(t.alert.values),
                reason=t.reason,
                notified=t.notify,
            )
            self.episodes[key] = firing
            self.report.firings.append(firing)
        elif episode is None:
            return
        elif t.kind == "firing":  # a quiet episode announced once the cooldown passed
            episode.notified = True
        elif t.kind == "repeat":
            episode.repeats += 1
        elif t.kind == "resolved":
            episode.resolved_at = now

    def _acted(self, decision: Decision, now: datetime) -> None:
        plan = decision.planned
        entity = plan.entity
        done = WouldAct(
            advertiser_id=self.actions.advertiser_id,
            at=now,
            rule=plan.rule or "",
            type=plan.type,
            level=plan.level,
            entity_id=plan.entity_id,
            entity_name=display_name(entity.name) if entity is not None else None,
            outcome=_OUTCOMES[decision.verdict],
            reason=decision.reason,
            before=dict(decision.before),
            after=dict(decision.after),
        )
        self.report.actions.append(done)
        episode = self.episodes.get((done.rule, plan.level, plan.entity_id))
        if episode is not None and episode.fired_at == now:
            episode.action = done


async def replay(
    ruleset: RuleSet,
    snapshots: AsyncIterable[tuple[Snapshot, bool]],
    *,
    zone: tzinfo,
    currency: str | None,
    settings: GuardSettings,
    report: Report,
    advertiser_id: str,
) -> None:
    """Replay one advertiser's ``snapshots`` (oldest first; ``(snapshot, replayed)``: a snapshot not replayed
    only serves as the previous one of the next) into ``report``."""
    replayer = Replayer(ruleset, advertiser_id, zone, currency, settings, report)
    previous: Snapshot | None = None
    async for snapshot, replayed in snapshots:
        if replayed:
            replayer.step(snapshot, previous)
        previous = snapshot
    report.advertisers.append(advertiser_id)
    report.warnings += replayer.undecidable()


def by_time(firings: Sequence[Firing]) -> list[Firing]:
    """Firings in the order they fired (then by advertiser, rule and entity)."""
    return sorted(firings, key=lambda f: (f.fired_at, f.advertiser_id, f.rule, f.entity_id))
