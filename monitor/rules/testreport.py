"""What ``test-rules`` found: each case's result, the report of one test file and its exit code, and the text the
command prints (:func:`render_report`). Made by :mod:`monitor.rules.testing`."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.errors import Problem

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_PASSED", "CaseResult", "RuleTestReport", "render_report"]

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


@dataclass(frozen=True)
class CaseResult:
    name: str
    failures: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class RuleTestReport:
    file: str
    cases: tuple[CaseResult, ...] = ()
    problems: tuple[Problem, ...] = ()  # the test file or a rule file is invalid: no case ran

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_INVALID
        return EXIT_FAILED if any(not case.passed for case in self.cases) else EXIT_PASSED


def render_report(report: RuleTestReport) -> str:
    """The report as the command prints it: problems, or PASS/FAIL per case and a total."""
    if report.problems:
        lines = [str(p) for p in report.problems]
        return "\n".join([*lines, f"{len(lines)} problem(s) found: no test ran"])
    lines = [report.file]
    for case in report.cases:
        lines.append(f"  {'PASS' if case.passed else 'FAIL'}  {case.name}")
        lines.extend(f"        {failure}" for failure in case.failures)
    failed = sum(1 for case in report.cases if not case.passed)
    total = len(report.cases)
    lines.append(f"{total} case{'s' if total != 1 else ''}: {total - failed} passed, {failed} failed")
    return "\n".join(lines)
