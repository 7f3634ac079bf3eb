"""Loading rule files: every ``*.toml`` of the rules directory (or glob) into one :class:`RuleSet`, strictly.

Each file is read and validated on its own (:mod:`monitor.rules.schema`); then names are checked to be unique
across files. Every problem of every file is collected and raised together as one
:class:`~monitor.errors.ConfigError`, each located as ``file:line: key: message`` (the line of the offending
key, or of its ``[[rule]]``). Nothing is loaded unless everything is valid.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.domain import LEVEL_ORDER
from monitor.domain.baseline import parse_window
from monitor.domain.profile import PROFILE_DAYS, PROFILE_WINDOW
from monitor.errors import ConfigError, Origin, Problem
from monitor.rules.active import ActiveTime
from monitor.rules.channels import CHANNELS, CHANNELS_HINT, CONFIG_HINT, KNOWN_CHANNELS
from monitor.rules.model import Match, Rule, RuleSet
from monitor.rules.schema import RULE_NAME, RuleFileModel, RuleModel
from monitor.tomlpos import KeyIndex
from monitor.tomlread import parse_toml, read_text
from monitor.tomlvalidate import Loader

__all__ = ["configured_channels", "load_rules", "rule_files", "summarize"]


def configured_channels(settings: Any) -> frozenset[str]:
    """The channels a config enables (``[slack]``, ``[email]``, ``[webhook]``, ``[console]``): what rules may
    notify."""
    return frozenset(name for name in KNOWN_CHANNELS if getattr(settings, name, None) is not None)


def rule_files(path: Path | str, origin: Origin | None = None) -> tuple[list[Path], list[Problem]]:
    """The rule files at ``path``: a directory's ``*.toml`` (not recursive), or a glob's matches; sorted.

    A path that names no rule file is a problem reported where the path is set (``origin``, like the config's
    ``monitor.rules``), or at the path itself when that is not known."""
    shown = os.fspath(path)

    def problem(message: str) -> list[Problem]:
        if origin is None:
            return [Problem(shown, None, "", message)]
        return [origin.problem(f"{shown}: {message}")]

    if any(char in shown for char in "*?["):
        files = sorted(Path(found) for found in glob.glob(shown) if Path(found).is_file())
        return files, [] if files else problem("no rule file matches this pattern")
    directory = Path(path)
    if directory.is_file():
        return [directory], []
    if not directory.is_dir():
        return [], problem("the rules directory does not exist")
    files = sorted(p for p in directory.glob("*.toml") if p.is_file())
    return files, [] if files else problem("no *.toml rule files in the rules directory")


def load_rules(
    path: Path | str | Iterable[Path],
    *,
    channels: Iterable[str],
    origin: Origin | None = None,
    channels_hint: str = CONFIG_HINT,
) -> RuleSet:
    """Load every rule file at ``path`` (directory, glob, or a list of files); notify may use ``channels``
    (``channels_hint``, a template with {channel}, says how to allow another). ``origin`` is where ``path`` is set
    (problems with the path itself are reported there).

    Raises :class:`ConfigError` with every problem of every file, in file order and by line.
    """
    if isinstance(path, str | Path):
        files, problems = rule_files(path, origin)
    else:
        files, problems = list(path), []
    context = {CHANNELS: frozenset(channels), CHANNELS_HINT: channels_hint}
    rules: list[Rule] = []
    where: dict[str, str] = {}
    for file in files:
        loaded, file_problems = _load_file(file, context)
        for rule, line in loaded:
            if rule.name in where:
                message = f"rule name {rule.name!r} is already used at {where[rule.name]}"
                file_problems.append(Problem(os.fspath(file), line, f"{rule_label(rule.name)}.name", message))
                continue
            where[rule.name] = f"{os.fspath(file)}:{line}"
            rules.append(rule)
        problems.extend(sorted(file_problems, key=lambda p: (p.line is None, p.line or 0)))
    if problems:
        raise ConfigError(problems)
    return RuleSet(rules, tuple(os.fspath(f) for f in files))


def rule_label(name: str) -> str:
    """How a problem's key names a rule: ``rule "overspend"``."""
    return f'rule "{name}"'


def _load_file(file: Path, context: dict[str, Any]) -> tuple[list[tuple[Rule, int | None]], list[Problem]]:
    """The valid rules of one file (with the line of their name), and its problems (keys name rules by name)."""
    shown = os.fspath(file)
    try:
        text = read_text(file, shown, "rule file")
        doc = parse_toml(text, shown)
    except ConfigError as exc:
        return [], exc.problems
    index = KeyIndex(text)
    loader = Loader(RuleFileModel, shown, file.parent, {}, index)
    for i, raw in _rules(doc):
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and RULE_NAME.fullmatch(name):
            loader.labels[("rule", i)] = rule_label(name)
    if isinstance(doc.get("rule"), dict):
        loader.fail(("rule",), "write [[rule]] (with double brackets): each rule is one table of an array")
        return [], loader.sorted_problems()
    try:
        model = RuleFileModel.model_validate(doc, context=context)
        models = list(enumerate(model.rule))
    except ValidationError as exc:
        loader.add_validation_errors(exc)
        failed = {e["loc"][1] for e in exc.errors() if len(e["loc"]) > 1 and e["loc"][0] == "rule"}
        models = [(i, RuleModel.model_validate(raw, context=context)) for i, raw in _rules(doc) if i not in failed]
    loaded = []
    for i, rule in models:
        line = index.line(("rule", i, "name"))
        loaded.append((_rule(rule, f"{shown}:{index.line(('rule', i))}"), line))
    return loaded, loader.sorted_problems()


def _rules(doc: dict[str, Any]) -> list[tuple[int, Any]]:
    raw = doc.get("rule")
    return list(enumerate(raw)) if isinstance(raw, list) else []


def _rule(model: RuleModel, source: str) -> Rule:
    match = model.match
    return Rule(
        name=model.name,
        level=model.level,
        when=model.when,
        window=model.window,
        for_=model.for_,
        cooldown=model.cooldown,
        severity=model.severity,
        notify=model.notify,
        notify_resolved=model.notify_resolved,
        action=model.action,
        dry_run=model.dry_run,
        approve=model.approval_wait(),
        description=model.description,
        source=source,
        enabled=model.enabled,
        active=None
        if model.active is None and model.active_days is None
        else ActiveTime(model.active or (), model.active_days),
        match=Match()
        if match is None
        else Match(
            advertiser_ids=_ids(match.advertiser_ids),
            campaign_ids=_ids(match.campaign_ids),
            ids=_ids(match.ids),
            names=(match.name,) if isinstance(match.name, str) else tuple(match.name or ()),
            currencies=_ids(match.currencies),
        ),
    )


def _ids(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


def summarize(ruleset: RuleSet) -> str:
    """A few lines for ``check``: rules per level and severity, channels, actions, and what a poll fetches."""
    count = len(ruleset)
    lines = [f"{count} rule{'s' if count != 1 else ''} in {len(ruleset.files)} file(s)"]
    disabled = [rule.name for rule in ruleset if not rule.enabled]
    if disabled:
        lines.append("  disabled   " + ", ".join(disabled) + " (enabled = false: checked, never evaluated)")
    timed = [f"{rule.name} ({rule.active})" for rule in ruleset if rule.active is not None and rule.enabled]
    if timed:
        lines.append("  active     " + "; ".join(timed) + " (advertiser's time; other times: no notice, no action)")
    levels = Counter(rule.level.value for rule in ruleset)
    lines.append("  levels     " + _counts(levels, ("advertiser", "campaign", "adgroup", "ad")))
    severities = Counter(rule.severity.value for rule in ruleset)
    lines.append("  severity   " + _counts(severities, ("critical", "warning", "info")))
    channels = Counter(str(target) for rule in ruleset for target in rule.notify)
    silent = sum(1 for rule in ruleset if not rule.notify)
    text = _counts(channels, sorted(channels)) or "none"
    lines.append("  notify     " + text + (f"; {silent} rule(s) notify nobody (log only)" if silent else ""))
    actions = Counter(rule.action.type for rule in ruleset if rule.action is not None)
    dry = Counter(rule.action.type for rule in ruleset if rule.action is not None and rule.dry_run)
    waits = Counter(rule.action.type for rule in ruleset if rule.action is not None and rule.approve is not None)
    described = [
        f"{kind} {n}"
        + (f" ({dry[kind]} dry run)" if dry[kind] else "")
        + (f" ({waits[kind]} waiting for approval)" if waits[kind] else "")
        for kind, n in sorted(actions.items())
    ]
    lines.append("  actions    " + (", ".join(described) or "none"))
    needs = ruleset.enabled().needs()
    for n, level in enumerate(sorted(needs.levels, key=LEVEL_ORDER.__getitem__)):
        windows = needs.windows(level)
        reads = "; ".join(f"{_window(w)}: {', '.join(sorted(m))}" for w, m in sorted(windows.items())) or "fields only"
        lines.append(f"  {'fetches' if n == 0 else '':10} {level.value:<10} {reads}")
    if not needs.levels:
        lines.append("  fetches    nothing")
    return "\n".join(lines)


def _window(window: str) -> str:
    """A window as ``check`` shows it: a baseline's or the hourly profile's says it reads stored hourly history."""
    if window == PROFILE_WINDOW:
        return f"hourly profile over {PROFILE_DAYS} days (stored hourly history)"
    parsed = parse_window(window)
    return window if parsed is None else f"{parsed[0]} over {parsed[1]} weeks (stored hourly history)"


def _counts(counter: Counter[str], order: Iterable[str]) -> str:
    return ", ".join(f"{key} {counter[key]}" for key in order if counter[key])
