"""``tiktok-monitor check`` (the configuration, every rule file and template, and warnings about what would go
unseen) and ``tiktok-monitor test-rules`` (rule unit tests): what catches mistakes before ``run`` does."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from monitor.actions import GuardSettings
from monitor.actions.budget import below_documented, describe_minimums
from monitor.command_support import print_problems as print_problems  # (re-exported) as every command prints
from monitor.config import Settings, load_settings, mask_url_password
from monitor.durations import format_duration
from monitor.errors import ConfigError, Problem
from monitor.logs import setup_logging
from monitor.rules.loader import configured_channels, load_rules, summarize
from monitor.rules.model import RuleSet
from monitor.rules.money import currency_warnings
from monitor.tomlpos import key_line

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def check(config: str | Path, *, log_level: str = "info", log_format: str = "text") -> int:
    """Validate the configuration and every rule file; print every problem on its own line, or a summary."""
    setup_logging(log_level, log_format)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        return print_problems(exc)
    try:
        ruleset = load_rules(
            settings.monitor.rules,
            channels=configured_channels(settings),
            origin=settings.origin("monitor", "rules"),
        )
    except ConfigError as exc:
        return print_problems(exc)
    from monitor.notify.templates import Templates  # jinja2: loaded by the commands that render

    template_problems = Templates(settings.monitor.templates).check()  # renders every template with samples
    if template_problems:
        for problem in template_problems:
            print(problem, file=sys.stderr)
        print(f"{len(template_problems)} problem(s) found", file=sys.stderr)
        return EXIT_INVALID
    from monitor.preview.currencies import stored_currencies  # only check reads them: not the other commands

    currencies = asyncio.run(stored_currencies(settings))  # the accounts polled before; {} without a database
    warnings = [*settings.warnings, *silent_rules(ruleset), *min_budget_warnings(settings)]
    for warning in [*warnings, *currency_warnings(ruleset, currencies)]:
        print(f"warning: {warning}", file=sys.stderr)
    tiktok = settings.tiktok
    advertisers = ", ".join(tiktok.advertiser_ids) if tiktok.advertiser_ids else "every advertiser the token reaches"
    channels = sorted(configured_channels(settings))
    print(f"{settings.source}: OK")
    print(f"  API        {tiktok.base_url} (at most {tiktok.max_qps} requests/s)")
    print(f"  watching   {advertisers}, every {format_duration(settings.monitor.interval)}")
    print(f"  storage    {mask_url_password(settings.storage.url)}")
    print(f"  channels   {', '.join(channels) or 'none (alerts only in the log)'}")
    print(f"  actions    {'enabled' if settings.actions.enabled else 'disabled: every action is a dry run'}")
    guards = GuardSettings.from_config(settings.actions, settings.monitor.interval)
    print(
        f"  breaker    at most {guards.max_writes} writes within {format_duration(guards.window)} (every advertiser); "
        f"then held back until `tiktok-monitor actions resume` or {format_duration(guards.breaker_reset)}"
    )
    print(f"  budgets    {describe_minimums(settings.actions.min_budget)}")
    print(summarize(ruleset))
    return EXIT_OK


def min_budget_warnings(settings: Settings) -> list[Problem]:
    """``[actions] min_budget`` entries below TikTok's documented minimums, located in the config file."""
    text = settings.source.read_text(encoding="utf-8") if settings.source else ""
    return [
        Problem(str(settings.source), key_line(text, ("actions", "min_budget", code)), f"actions.min_budget.{code}", w)
        for code, w in below_documented(settings.actions.min_budget).items()
    ]


def silent_rules(ruleset: RuleSet) -> list[str]:
    """``file:line: rule 'x': ...`` for each rule that neither notifies nor acts: nobody would hear of it."""
    return [
        f"{rule.source or rule.name}: rule {rule.name!r}: neither notify nor action: it fires unseen (only the log "
        "and `once` show it)"
        for rule in ruleset
        if not rule.notify and rule.action is None
    ]


def test_rules(
    paths: str | Path | Sequence[str | Path], *, log_level: str = "warning", log_format: str = "text"
) -> int:
    """Run rule unit-test files (a directory: its ``*.toml``), pass/fail per case: 0 every case passed, 1 a case
    failed, 2 a file is invalid (the other files still run)."""
    from monitor.rules.testfile import rule_test_files
    from monitor.rules.testing import render_report, run_rule_tests

    setup_logging(log_level, log_format)
    files, problems = rule_test_files([paths] if isinstance(paths, str | Path) else paths)
    for problem in problems:
        print(problem, file=sys.stderr)
    codes = [EXIT_INVALID] if problems else []
    for file in files:
        report = run_rule_tests(file)
        print(render_report(report), file=sys.stderr if report.problems else sys.stdout)
        codes.append(report.exit_code)
    if len(files) > 1:
        counts = [codes.count(code) for code in (EXIT_OK, EXIT_FAILED, EXIT_INVALID)]
        print(f"{len(files)} test files: {counts[0]} passed, {counts[1]} failed, {counts[2]} invalid")
    return max(codes, default=EXIT_INVALID)
