"""The ``tiktok-monitor`` command line: argument parsing (with TIKTOK_APP_ID and TIKTOK_APP_SECRET as the
``auth`` commands' defaults); the work is done in ``monitor.app``.

Exit codes: 0 success; 1 the command ran and failed (API unreachable, a cycle failed, a rule test failed);
2 bad usage or an invalid configuration / rule file (each problem printed as ``file:line: key: message``);
130 interrupted.

The examples under each command's help are :mod:`monitor.cli_examples`; the command groups with subcommands
(auth, actions, silence, approvals) are added by :mod:`monitor.cli_groups`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from monitor import __version__
from monitor.cli_examples import EXAMPLES
from monitor.cli_groups import add_actions, add_approvals, add_auth, add_silence
from monitor.completion import SHELLS, script
from monitor.gctune import start_up
from monitor.lazy import defer_asyncio_orm


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tiktok-monitor",
        description="Watch TikTok ad accounts through the Business API v1.3; alert and act with guard rails.",
        epilog="Exit codes: 0 ok, 1 failed, 2 invalid usage or configuration, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--log-format", default="text", choices=["text", "json"])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example: {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    run = command("run", "the daemon: poll on schedule, notify, reload rules on change or SIGHUP, serve /healthz")
    run.add_argument("--config", required=True, help="path of config.toml")

    once = command(
        "once",
        "one full cycle over every advertiser as run does it (fetch, store, evaluate, act: pauses and budget "
        "changes go to TikTok through the guards; notify: messages are sent), then a summary",
    )
    once.add_argument("--config", required=True, help="path of config.toml")
    once.add_argument(
        "--dry-run",
        action="store_true",
        help="read the API and the database and evaluate, write nothing anywhere (no TikTok write, no message, no "
        "database change): print what would fire, each action after the guards, and each message",
    )

    explain = command(
        "explain", "why a rule fires or not, per entity: the values it reads, the result, pending, cooldown, held"
    )
    explain.add_argument("rule", help="the rule's name")
    explain.add_argument("--config", required=True, help="path of config.toml")
    explain.add_argument("--advertiser", metavar="ID", help="only this advertiser (default: every one)")
    explain.add_argument("--entity", metavar="ID", help="only this campaign, ad group or ad")
    explain.add_argument(
        "--stored", action="store_true", help="use the last stored snapshot instead of reading the API (no API call)"
    )

    demo = command("demo", "the monitor against the built-in sandbox with the example rules; alerts in the terminal")
    demo.add_argument("--cycles", type=int, default=None, help="stop after N polling cycles (default: until Ctrl-C)")

    add_auth(command)

    check = command("check", "validate the configuration and the rule files; print each problem as file:line: ...")
    check.add_argument("--config", required=True, help="path of config.toml")

    test_rules = command("test-rules", "run rule unit tests: input snapshots over time, expected alerts and actions")
    test_rules.add_argument("files", nargs="+", metavar="FILE", help="rule test files (TOML), or directories of them")

    history = command("history", "the action journal, newest first: what was changed (or would be), why, outcome")
    history.add_argument("--config", required=True, help="path of config.toml")
    history.add_argument("--rule", help="only this rule's actions")
    history.add_argument("--entity", metavar="ID", help="only actions on this campaign, ad group or ad")
    history.add_argument("--advertiser", metavar="ID", help="only this advertiser's actions")
    history.add_argument(
        "--since", metavar="TIME", help="from this time on: 2026-11-24T00:00Z, a date (UTC), or a duration back (24h)"
    )
    history.add_argument("--limit", type=int, default=50, metavar="N", help="at most N entries (default 50)")
    history.add_argument("--reasons", action="store_true", help="print each action's reason under it")

    revert = command("revert", "undo one journaled action through the same guard rails; journaled with `reverts`")
    revert.add_argument("--config", required=True, help="path of config.toml")
    revert.add_argument("id", type=int, help="the journal id (tiktok-monitor history; alerts show it)")
    revert.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")
    revert.add_argument("--by", metavar="NAME", help="who asks (default: the OS user); journaled with the revert")

    add_actions(command)

    backtest = command(
        "backtest",
        "replay rule files over the stored history: what would have fired, when, and what each action would have "
        "done (guards that need no API); nothing is written",
    )
    backtest.add_argument("--config", required=True, help="path of config.toml (the database, [actions])")
    backtest.add_argument("--rules", type=Path, help="rule file or directory to replay (default: [monitor] rules)")
    backtest.add_argument(
        "--since", default="7d", metavar="TIME", help="from this time on: 7d (default), 24h, 2026-11-24T00:00Z, a date"
    )
    backtest.add_argument("--advertiser", metavar="ID", help="only this advertiser (default: every stored one)")
    backtest.add_argument("--json", action="store_true", dest="as_json", help="print the report as JSON")
    add_silence(command)
    add_approvals(command)
    status_cmd = command(
        "status",
        "what the monitor sees now, read from the database (works while run runs): each advertiser's last and "
        "next poll and whether it is paused, firing and pending alerts with their values, silences, holds, the "
        "actions' circuit breaker, the outbox backlog per channel",
    )
    status_cmd.add_argument("--config", required=True, help="path of config.toml")
    status_cmd.add_argument("--json", action="store_true", help="print JSON (schema: docs/status.md)")

    sandbox = command("sandbox", "serve the simulated TikTok Business API v1.3 on loopback")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=8808, help="port (default 8808; 0 picks a free one)")
    sandbox.add_argument("--token", default="sandbox-token", help="access token it accepts (default sandbox-token)")
    sandbox.add_argument("--app-id", default="4242424242", help="app id it accepts (digits; default 4242424242)")
    sandbox.add_argument("--secret", default="sandbox-secret", help="app secret it accepts (default sandbox-secret)")
    sandbox.add_argument("--qps", type=int, default=10, help="requests per second before code 40100 (default 10)")
    sandbox.add_argument("--large-ads", type=int, default=0, help="add an advertiser with this many ads (benchmarks)")
    sandbox.add_argument(
        "--extra-advertisers", type=int, default=0, metavar="N", help="add N small advertisers (benchmarks; default 0)"
    )
    sandbox.add_argument(
        "--flat-delivery",
        action="store_true",
        help="every ad spends at its average rate all day, not more in the evening (benchmarks: as many entities "
        "change between two polls whatever the hour)",
    )
    sandbox.add_argument(
        "--webhook-window",
        type=float,
        default=None,
        metavar="SECONDS",
        help="REPORT_DATA_CHANGE notices at most this often per advertiser (default: as subscribed, 5 min or more)",
    )
    sandbox.add_argument(
        "--smart-plus",
        type=int,
        default=0,
        metavar="N",
        help="add N Upgraded Smart+ campaigns to each regular advertiser (smart_plus/* endpoints; default 0)",
    )

    completion = command("completion", "print a shell completion script (bash, or zsh through bashcompinit)")
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    with start_up():  # no cyclic collection while the command's modules are imported (monitor.gctune)
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command == "completion":
            sys.stdout.write(script(parser, args.shell))
            return 0
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    defer_asyncio_orm()  # the store is SQLAlchemy Core: its asyncio engine without the ORM (monitor.lazy)
    from monitor import app  # imported late so --help stays fast

    try:
        if args.command == "run":
            return app.run(args.config, log_level=args.log_level, log_format=args.log_format)
        if args.command == "once":
            level = args.log_level if args.log_level != "info" else "warning"  # the summary is the output
            return app.once(args.config, dry_run=args.dry_run, log_level=level, log_format=args.log_format)
        if args.command == "explain":
            level = args.log_level if args.log_level != "info" else "warning"  # the table is the output
            return app.explain(
                args.config,
                args.rule,
                advertiser=args.advertiser,
                entity=args.entity,
                stored=args.stored,
                log_level=level,
                log_format=args.log_format,
            )
        if args.command == "demo":
            level = args.log_level if args.log_level != "info" else "warning"  # the alerts are the output
            return app.demo(cycles=args.cycles, log_level=level, log_format=args.log_format)
        if args.command == "auth":
            return app.auth(args)
        if args.command == "check":
            return app.check(args.config, log_level=args.log_level, log_format=args.log_format)
        if args.command == "history":
            level = args.log_level if args.log_level != "info" else "warning"  # the table is the output
            return app.history(
                args.config,
                rule=args.rule,
                entity=args.entity,
                advertiser=args.advertiser,
                since=args.since,
                limit=args.limit,
                reasons=args.reasons,
                log_level=level,
                log_format=args.log_format,
            )
        if args.command == "revert":
            level = args.log_level if args.log_level != "info" else "warning"
            return app.revert(
                args.config, args.id, dry_run=args.dry_run, by=args.by, log_level=level, log_format=args.log_format
            )
        if args.command == "actions":
            level = args.log_level if args.log_level != "info" else "warning"
            by = getattr(args, "by", None)
            return app.actions(args.config, args.actions_command, by=by, log_level=level, log_format=args.log_format)
        if args.command == "backtest":
            level = args.log_level if args.log_level != "info" else "warning"  # the report is the output
            return app.backtest(
                args.config,
                rules=args.rules,
                since=args.since,
                advertiser=args.advertiser,
                as_json=args.as_json,
                log_level=level,
                log_format=args.log_format,
            )
        if args.command == "silence":
            return app.silence(args)
        if args.command == "approvals":
            return app.approvals(args)
        if args.command == "status":
            level = args.log_level if args.log_level != "info" else "warning"  # the report is the output
            return app.status(args.config, as_json=args.json, log_level=level, log_format=args.log_format)
        if args.command == "test-rules":
            return app.test_rules(args.files, log_format=args.log_format)
        if args.command == "sandbox":
            return app.sandbox(
                host=args.host,
                port=args.port,
                token=args.token,
                app_id=args.app_id,
                secret=args.secret,
                qps=args.qps,
                large_ads=args.large_ads,
                extra_advertisers=args.extra_advertisers,
                smart_plus=args.smart_plus,
                webhook_window=args.webhook_window,
                flat_delivery=args.flat_delivery,
                log_level=args.log_level,
                log_format=args.log_format,
            )
    except KeyboardInterrupt:
        return 130
    print(f"unknown command {args.command}", file=sys.stderr)
    return 2
