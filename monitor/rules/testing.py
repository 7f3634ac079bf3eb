"""Rule unit tests, like promtool's: input snapshots over time, and the alerts and actions expected after each.

:func:`run_rule_tests` reads a test file (format: :mod:`monitor.rules.testfile`), loads the rule files it names,
and for each case feeds its polls in order through the same engine and lifecycle the daemon uses, comparing
what happened with each ``[[case.expect]]``. :func:`render_report` prints one line per case and, for a failure,
what was expected and what happened instead (:mod:`monitor.rules.testreport`, re-exported here). Exit codes
(:attr:`RuleTestReport.exit_code`): 0 every case passed, 1 a case failed, 2 the test file (or a rule file) is invalid.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.domain import AlertState, EntityKey, EntityState, Snapshot
from monitor.domain.baseline import KINDS, every_weeks
from monitor.domain.profile import PROFILE_WINDOW
from monitor.errors import ConfigError, Origin, Problem
from monitor.rules.engine import evaluate
from monitor.rules.lifecycle import FIRING, PENDING, RESOLVING, AlertKey, Progress, advance
from monitor.rules.loader import load_rules, rule_files
from monitor.rules.model import Rule, RuleSet
from monitor.rules.mute import Muting
from monitor.rules.names import WINDOWS
from monitor.rules.testfile import CLEAR, CaseModel, EntityModel, ExpectModel, TestFileModel, tidy
from monitor.rules.testreport import CaseResult, RuleTestReport, render_report
from monitor.tomlpos import KeyIndex
from monitor.tomlread import parse_toml, read_text
from monitor.tomlvalidate import Loader

__all__ = ["CaseResult", "RuleTestReport", "render_report", "run_rule_tests"]

_FIELDS = ("name", "operation_status", "secondary_status", "budget", "budget_mode", "campaign_id", "adgroup_id")


def run_rule_tests(path: Path | str) -> RuleTestReport:
    """Run every case of one test file."""
    shown = tidy(os.fspath(path))
    source = Path(os.path.abspath(path))
    try:
        text = read_text(source, shown, "rule test file")
        doc = parse_toml(text, shown)
    except ConfigError as exc:
        return RuleTestReport(shown, problems=tuple(exc.problems))
    index = KeyIndex(text)
    loader = Loader(TestFileModel, shown, source.parent, {}, index)
    cases = doc.get("case")
    for i, case in enumerate(cases if isinstance(cases, list) else ()):
        if isinstance(case, dict) and isinstance(case.get("name"), str) and case["name"]:
            loader.labels[("case", i)] = f"case {json.dumps(case['name'], ensure_ascii=False)}"
    try:
        model = TestFileModel.model_validate(doc)
    except ValidationError as exc:
        loader.add_validation_errors(exc)
        return RuleTestReport(shown, problems=tuple(loader.sorted_problems()))
    try:
        ruleset = _load(model, shown, index)
    except ConfigError as exc:
        return RuleTestReport(shown, problems=tuple(exc.problems))
    for number, case in enumerate(model.case):
        _check_references(loader, ruleset, case, number)
    if loader.problems:
        return RuleTestReport(shown, problems=tuple(loader.sorted_problems()))
    return RuleTestReport(shown, cases=tuple(_run_case(ruleset, case) for case in model.case))


def _load(model: TestFileModel, shown: str, index: KeyIndex) -> RuleSet:
    """The rules a test file names: each pattern of ``rule_files`` relative to the test file, normalised."""
    files: list[Path] = []
    problems: list[Problem] = []
    for i, pattern in enumerate(model.rule_files):
        origin = Origin(shown, index.line(("rule_files", i)), f"rule_files[{i}]")
        found, missing = rule_files(tidy(os.path.join(os.path.dirname(shown), pattern)), origin)
        files.extend(f for f in found if f not in files)
        problems.extend(missing)
    if problems:
        raise ConfigError(problems)
    channels = index.exact(("channels",))
    where = f"{shown}:{channels}" if channels else shown
    hint = f"add {{channel!r}} to channels at {where} (or leave channels out to allow every channel)"
    return load_rules(files, channels=model.channels, channels_hint=hint)


def _check_references(loader: Loader, ruleset: RuleSet, case: CaseModel, number: int) -> None:
    """Rule names, poll times and entity ids an expectation names must exist: a typo is not a failing test."""
    where = ("case", number)
    for i, name in enumerate(case.rules or ()):
        if name not in ruleset:
            loader.report((*where, "rules", i), _unknown_rule(name, ruleset))
    times = _times(case)
    for i in range(1, len(times)):
        if times[i] <= times[i - 1]:
            order = f"{_show(times[i])} is not after {_show(times[i - 1])}"
            key = "at" if case.poll[i].at is not None else "after"
            loader.report((*where, "poll", i, key), f"polls must be in time order: {order}")
    ids = {entity.id for poll in case.poll for entity in poll.entity}
    for i, expect in enumerate(case.expect):
        at = (*where, "expect", i)
        if expect.rule not in ruleset:
            loader.report((*at, "rule"), _unknown_rule(expect.rule, ruleset))
        elif case.rules is not None and expect.rule not in case.rules:
            loader.report((*at, "rule"), f"rule {expect.rule!r} is not in this case's rules")
        if expect.poll is not None and expect.poll > len(times):
            loader.report((*at, "poll"), f"this case has {len(times)} poll(s)")
        if expect.at is not None and expect.at not in times:
            polls = ", ".join(_show(t) for t in times)
            loader.report((*at, "at"), f"no poll at {_show(expect.at)}; polls are at {polls}")
        for key in ("firing", "pending", "notified", "actions"):
            for entity_id in getattr(expect, key) or ():
                if entity_id not in ids:
                    loader.report((*at, key), f"no poll of this case has an entity with id {entity_id!r}")


def _unknown_rule(name: str, ruleset: RuleSet) -> str:
    close = difflib.get_close_matches(name, [rule.name for rule in ruleset], n=1)
    return f"unknown rule {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")


def _times(case: CaseModel) -> list[datetime]:
    times: list[datetime] = []
    for poll in case.poll:
        if poll.at is not None:
            times.append(poll.at.astimezone(UTC))
        else:
            assert poll.after is not None
            times.append((times[-1] if times else datetime(1970, 1, 1, tzinfo=UTC)) + poll.after)
    return times


# --- running -------------------------------------------------------------------------------------------------


def _run_case(ruleset: RuleSet, case: CaseModel) -> CaseResult:
    rules = [rule for rule in ruleset if case.rules is None or rule.name in case.rules]
    times = _times(case)
    states: dict[AlertKey, AlertState] = {}
    entities: dict[EntityKey, EntityState] = {}
    previous: Snapshot | None = None
    failures: list[str] = []
    for number, (poll, at) in enumerate(zip(case.poll, times, strict=True), start=1):
        entities = _apply(entities, poll.entity, case.advertiser_id)
        snapshot = Snapshot(case.advertiser_id, number, at, entities)
        evaluation = evaluate(rules, snapshot, previous, at, zone=case.timezone, currency=case.currency)
        progress = advance(rules, states, evaluation, at, Muting.of(case.advertiser_id, at, case.timezone))
        for key in progress.removed:
            states.pop(key, None)
        states.update((alert.key, alert) for alert in progress.states)
        for expect in case.expect:
            if expect.poll == number or (expect.at is not None and expect.at.astimezone(UTC) == at):
                rule = ruleset.get(expect.rule)
                assert rule is not None
                failures.extend(_compare(expect, rule, states, progress, f"poll {number} at {_show(at)}"))
        previous = snapshot
    return CaseResult(case.name, tuple(failures))


#: An entity's tables in a case -> the window each sets: baseline = {...} sets baseline(x) of every weeks.
_GIVEN = [(w, w) for w in WINDOWS] + [(k, w) for k in KINDS for w in every_weeks(k)] + [("profile", PROFILE_WINDOW)]


def _apply(
    entities: Mapping[EntityKey, EntityState], changes: list[EntityModel], advertiser_id: str
) -> dict[EntityKey, EntityState]:
    """What the next poll sees: the previous entities, changed as the poll says."""
    out = dict(entities)
    who = {(c.level, c.id): c.changed_by for c in changes if not c.gone and c.changed_by is not None}
    for change in changes:
        key = (change.level, change.id)
        if change.gone:
            out.pop(key, None)
            continue
        old = out.get(key)
        given = change.given()
        fields: dict[str, Any] = {name: getattr(old, name) if old else None for name in _FIELDS}
        fields.update({name: _value(getattr(change, name)) for name in _FIELDS if name in given})
        metrics = {window: dict(values) for window, values in (old.metrics.items() if old else ())}
        for table, window in _GIVEN:
            for metric, value in (getattr(change, table) or {}).items():
                metrics.setdefault(window, {})[metric] = _value(value)
        out[key] = EntityState(level=change.level, id=change.id, advertiser_id=advertiser_id, metrics=metrics, **fields)
    # changed_by holds for the poll that gives it: who changed the entity since the poll before
    return {key: state.with_changed_by(who.get(key)) for key, state in out.items()}


def _value(value: Any) -> Any:
    return None if value == CLEAR else value


def _compare(
    expect: ExpectModel, rule: Rule, states: Mapping[AlertKey, AlertState], progress: Progress, when: str
) -> list[str]:
    mine = {key[2]: alert for key, alert in states.items() if key[0] == rule.name}
    firing = sorted(i for i, a in mine.items() if a.state in (FIRING, RESOLVING))
    pending = sorted(i for i, a in mine.items() if a.state == PENDING)
    happened = [t for t in progress.transitions if t.rule.name == rule.name]
    notified = {t.alert.entity_id: t.kind for t in happened if t.notify}
    actions = {t.alert.entity_id: _action(t.rule) for t in happened if t.act and t.rule.action is not None}
    lines: list[str] = []
    differing: set[str] = set()
    for key, got in (("firing", firing), ("pending", pending)):
        wanted = getattr(expect, key)
        if wanted is not None and sorted(wanted) != got:
            lines.append(f"{key}: expected {_list(sorted(wanted))}, got {_list(got)}")
            differing |= set(wanted) ^ set(got)
    if expect.notified is not None and expect.notified != notified:
        lines.append(f"notified: expected {_table(expect.notified)}, got {_table(notified)}")
        differing |= {i for i in {*expect.notified, *notified} if expect.notified.get(i) != notified.get(i)}
    if expect.actions is not None and not _same_actions(expect.actions, actions):
        lines.append(f"actions: expected {_table(expect.actions)}, got {_table(actions)}")
        differing |= {*expect.actions, *actions}
    if not lines:
        return []
    for entity_id in sorted(differing):
        alert = mine.get(entity_id)
        state = "inactive" if alert is None else f"{alert.state} since {_show(alert.since)}"
        seen = ", ".join(f"{k} = {_json(v)}" for k, v in alert.values.items()) if alert is not None else ""
        lines.append(f"  {entity_id}: {state}" + (f" ({seen})" if seen else ""))
    return [f"{when}, rule {rule.name!r}: " + lines[0], *(f"  {line}" for line in lines[1:])]


#: How an expected action says it is not written at once: a dry run, or waiting for a person (``approve``).
DRY_RUN, WAITING = " (dry run)", " (waiting for approval)"


def _action(rule: Rule) -> str:
    assert rule.action is not None
    return rule.action.summary() + (DRY_RUN if rule.dry_run else WAITING if rule.approve is not None else "")


def _same_actions(wanted: Mapping[str, str], got: Mapping[str, str]) -> bool:
    """An expected action matches its full summary, or just its type: "scale_budget (dry run)",
    "pause (waiting for approval)"."""
    if set(wanted) != set(got):
        return False
    for entity_id, text in wanted.items():
        full = got[entity_id]
        suffix = next((s for s in (DRY_RUN, WAITING) if full.endswith(s)), "")
        if text not in (full, full.split(" ")[0] + suffix):
            return False
    return True


def _show(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_json(v) for v in values) + "]"


def _table(values: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{_json(k)} = {_json(v)}" for k, v in sorted(values.items())) + "}"
