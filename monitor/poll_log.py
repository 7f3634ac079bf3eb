"""What a poll logs (on the ``monitor.pipeline`` logger, as before these lines moved here): at INFO one line per
alert that fired or resolved; at DEBUG one line per rule (entities evaluated, true, no data, its alerts firing and
pending) and the wall seconds of each stage (``bench/cycle.py`` reads that line)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from monitor.domain import AlertState
from monitor.notify.names import display_name
from monitor.poll_stages import Progress
from monitor.rules.engine import Evaluation
from monitor.rules.lifecycle import AlertKey, Transition
from monitor.rules.lifecycle import Progress as LifecycleProgress
from monitor.rules.model import RuleSet
from monitor.tiktok.models import AdvertiserInfo

__all__ = ["log_stage_seconds", "log_tallies", "log_transitions"]

log = logging.getLogger("monitor.pipeline")  # the pipeline's logger: what a log configuration names


def log_tallies(
    ruleset: RuleSet, evaluation: Evaluation, before: Mapping[AlertKey, AlertState], lifecycle: LifecycleProgress
) -> None:
    """One debug line per rule: entities evaluated, true, no data, and its alerts firing and pending now."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    from monitor.preview.tally import tallies  # the preview's tallies: loaded when they are logged

    after = {**before, **{state.key: state for state in lifecycle.states}}
    for key in lifecycle.removed:
        after.pop(key, None)
    for tally in tallies(ruleset, evaluation, after.values()):
        log.debug("advertiser %s: %s", evaluation.advertiser_id, tally.line())


def log_stage_seconds(advertiser_id: str, progress: Progress) -> None:
    """One debug line: the wall seconds of each stage of the advertiser's poll (``bench/cycle.py`` reads it)."""
    if log.isEnabledFor(logging.DEBUG):
        stages = " ".join(f"{stage.value}={seconds:.4f}" for stage, seconds in progress.seconds.items())
        log.debug("advertiser %s: stage seconds %s", advertiser_id, stages)


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
