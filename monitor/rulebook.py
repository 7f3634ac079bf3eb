"""The rule set in force, and its atomic reload.

A reload loads every rule file again; only when all of them are valid does the new set replace the old one.
Otherwise the old rules stay in force and the problems are returned, for the log and an operational alert.
The daemon checks the files' fingerprint (names, sizes, modification times) every second and reloads on SIGHUP.
A change is reloaded once it has settled: the fingerprint must be the same on two looks in a row, so a file
written in several steps (created empty, then filled; an editor's save) is loaded once, complete, not once per
step.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ConfigError, Origin, Problem
from monitor.rules.loader import load_rules, rule_files
from monitor.rules.model import RuleSet

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class ReloadResult:
    """``changed``: the rule set was replaced; ``problems``: why it was not (the old rules stay)."""

    changed: bool
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


class RuleBook:
    """Holds the current :class:`RuleSet`. Construction loads the rules and raises ConfigError if invalid:
    the daemon does not start with broken rules; after that, a broken file never replaces working rules."""

    def __init__(self, path: Path, channels: Iterable[str], origin: Origin | None = None) -> None:
        self.path = path
        self.channels = frozenset(channels)
        self.origin = origin  # where path is set: problems with the path itself are reported there
        self._fingerprint = self.fingerprint()
        self._seen = self._fingerprint  # what the last look saw: a change is reloaded once two looks agree
        self.current: RuleSet = load_rules(path, channels=self.channels, origin=origin)

    def __call__(self) -> RuleSet:
        return self.current

    def fingerprint(self) -> Fingerprint:
        files, _ = rule_files(self.path)
        prints = []
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                continue
            prints.append((os.fspath(file), stat.st_size, stat.st_mtime_ns))
        return tuple(prints)

    def reload_if_changed(self) -> ReloadResult:
        """Reload when a rule file was added, removed or modified since the last reload, and the last look saw
        the same files already (the change has settled); otherwise nothing happens yet."""
        seen, self._seen = self._seen, self.fingerprint()
        if self._seen == self._fingerprint or self._seen != seen:
            return ReloadResult(changed=False)
        return self.reload()

    def replace(self, path: Path, channels: Iterable[str]) -> ReloadResult:
        """The rules of ``path`` validated against ``channels`` (a reloaded configuration's): when every file is
        valid they, the path and the channels replace the current ones; otherwise nothing changes and the
        problems are returned (the caller says what was refused). Unchanged path and channels: nothing to do."""
        wanted = frozenset(channels)
        if path == self.path and wanted == self.channels:
            return ReloadResult(changed=False)
        try:
            ruleset = load_rules(path, channels=wanted, origin=self.origin)
        except ConfigError as exc:
            return ReloadResult(changed=False, problems=tuple(exc.problems))
        self.path, self.channels, self.current = path, wanted, ruleset
        self._fingerprint = self._seen = self.fingerprint()
        log.info("rules from %s: %d rule(s) from %d file(s)", path, len(ruleset), len(ruleset.files))
        return ReloadResult(changed=True)

    def reload(self) -> ReloadResult:
        """Load every rule file again and swap the set in one assignment, or keep the old one."""
        self._fingerprint = self._seen = self.fingerprint()
        try:
            ruleset = load_rules(self.path, channels=self.channels, origin=self.origin)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("rules not reloaded: %s", problem)
            log.error("the previous %d rule(s) stay in force until the files are fixed", len(self.current))
            return ReloadResult(changed=False, problems=tuple(exc.problems))
        self.current = ruleset
        log.info("rules reloaded: %d rule(s) from %d file(s)", len(ruleset), len(ruleset.files))
        return ReloadResult(changed=True)
