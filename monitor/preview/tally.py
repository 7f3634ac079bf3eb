"""One line per rule per poll, for debug logging: how many entities it evaluated, and how they came out. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monitor.domain import AlertState
from monitor.rules.engine import Evaluation
from monitor.rules.lifecycle import FIRING, PENDING
from monitor.rules.model import Rule


@dataclass(frozen=True)
class RuleTally:
    """One rule at one poll: entities in its scope, true, no data, and its alerts firing and pending after."""

    rule: str
    level: str
    evaluated: int
    true: int
    no_data: int
    firing: int
    pending: int

    def line(self) -> str:
        """ "rule overspend (campaign): 12 evaluated, 2 true, 1 no data; 1 firing, 1 pending" """
        return (
            f"rule {self.rule} ({self.level}): {self.evaluated} evaluated, {self.true} true, {self.no_data} no data; "
            f"{self.firing} firing, {self.pending} pending"
        )


def tallies(rules: Iterable[Rule], evaluation: Evaluation, states: Iterable[AlertState]) -> list[RuleTally]:
    """The tally of each rule (that applies to the advertiser) of one poll; ``states`` are the advertiser's alert
    states after the lifecycle step."""
    states = list(states)
    snapshot = evaluation.snapshot
    out = []
    for rule in rules:
        if not rule.match.admits_advertiser(snapshot.advertiser_id):
            continue
        entities = snapshot.of_level(rule.level)
        evaluated = len(entities) if rule.match.everything else sum(1 for e in entities if rule.match.admits(e))
        out.append(
            RuleTally(
                rule.name,
                rule.level.value,
                evaluated,
                len(evaluation.by_rule.get(rule.name, {})),
                evaluation.undecided_count(rule.name),
                sum(1 for s in states if s.rule == rule.name and s.state == FIRING),
                sum(1 for s in states if s.rule == rule.name and s.state == PENDING),
            )
        )
    return out
