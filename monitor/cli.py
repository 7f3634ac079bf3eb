"""The ``tiktok-monitor`` command line: argument parsing (with TIKTOK_APP_ID and TIKTOK_APP_SECRET as the
``auth`` commands' defaults); the work is done in ``monitor.app``.

Exit codes: 0 success; 1 the command ran and failed (API unreachable, a cycle failed, a rule test failed);
2 bad usage or an invalid configuration / rule file (each problem printed as ``file:line: key: message``);
130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.completion import SHELLS, script

EXAMPLES = {
    "run": "tiktok-monitor run --config /etc/tiktok-monitor/config.toml",
    "once": "tiktok-monitor once --config config.toml --dry-run   (a preview: writes nothing; without it: acts)",
    "explain": "tiktok-monitor explain overspend-no-conversions --config config.toml --advertiser 7000000000000000001",
    "demo": "tiktok-monitor demo --cycles 6",
    "auth": "TIKTOK_APP_ID=7000... TIKTOK_APP_SECRET=... tiktok-monitor auth login",
    "check": "tiktok-monitor check --config /etc/tiktok-monitor/config.toml",
    "sandbox": "tiktok-monitor sandbox --port 8808 --token my-test-token",
    "test-rules": "tiktok-monitor test-rules rules/tests/",
    "history": "tiktok-monitor history --config config.toml --rule overspend-no-conversions --since 2026-11-24T00:00Z",
    "revert": "tiktok-monitor revert --config config.toml 42 --dry-run",
    "actions": "tiktok-monitor actions resume --config config.toml --by alice",
    "completion": "tiktok-monitor completion bash > ~/.local/share/bash-completion/completions/tiktok-monitor",
    "backtest": "tiktok-monitor backtest --config config.toml --rules rules/ --since 7d --advertiser 7000... --json",
    "approvals": "tiktok-monitor approvals list --config config.toml",
    "approvals list": "tiktok-monitor approvals list --config config.toml --all",
    "approvals approve": "tiktok-monitor approvals approve --config config.toml 4821-1 --by alice",
    "approvals reject": "tiktok-monitor approvals reject --config config.toml 4821-1 --by alice",
    "silence": "tiktok-monitor silence add --config config.toml rule=overspend name~'Summer *' --for 2h",
    "silence add": "tiktok-monitor silence add --config config.toml rule=overspend name~'Summer *' --for 2h "
    "--comment 'relaunch, spend expected'",
    "silence list": "tiktok-monitor silence list --config config.toml --all",
    "silence expire": "tiktok-monitor silence expire --config config.toml 3",
    "status": "tiktok-monitor status --config config.toml --json | jq '.alerts[] | select(.state == \"firing\")'",
}


SUB_EXAMPLES = {
    "auth url": "tiktok-monitor auth url --app-id 7000...",
    "auth login": "TIKTOK_APP_ID=7000... TIKTOK_APP_SECRET=... tiktok-monitor auth login --port 8765",
    "auth exchange": "tiktok-monitor auth exchange 1a2b3c... --app-id 7000... --secret ...",
    "auth advertisers": "tiktok-monitor auth advertisers --config config.toml",
    "actions resume": "tiktok-monitor actions resume --config config.toml --by alice",
    "actions status": "tiktok-monitor actions status --config config.toml",
}


def _subcommand(group: Any, parent: str, name: str, help_text: str) -> argparse.ArgumentParser:
    """``parent name`` (e.g. ``auth login``) with its help and the example of :data:`SUB_EXAMPLES`."""
    parser: argparse.ArgumentParser = group.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example: {SUB_EXAMPLES[f'{parent} {name}']}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


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

    auth = command("auth", "authorize the app for advertisers and keep the token; list what a token reaches")
    auth_commands = auth.add_subparsers(dest="auth_command", required=True, metavar="AUTH_COMMAND")

    def app_options(sub: argparse.ArgumentParser, *, secret: bool) -> None:
        sub.add_argument("--app-id", default=os.environ.get("TIKTOK_APP_ID"), help="default: $TIKTOK_APP_ID")
        if secret:
            hint = "default: $TIKTOK_APP_SECRET (prefer the variable: options show in `ps`)"
            sub.add_argument("--secret", default=os.environ.get("TIKTOK_APP_SECRET"), help=hint)
        sub.add_argument("--base-url", default="https://business-api.tiktok.com", help="the API and portal host")

    def keep_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--print", action="store_true", dest="print_token", help="print the token instead of saving it"
        )
        sub.add_argument("--token-file", type=Path, help="where to save it (default: the state directory, mode 0600)")
        sub.add_argument("--force", action="store_true", help="replace a token file that exists already")

    auth_url = _subcommand(auth_commands, "auth", "url", "print the advertiser authorization URL")
    app_options(auth_url, secret=False)
    auth_url.add_argument("--port", type=int, default=8765, help="loopback port of the redirect URI (default 8765)")
    auth_url.add_argument("--redirect-uri", help="a redirect URI registered for the app, instead of the loopback one")
    auth_login = _subcommand(
        auth_commands, "auth", "login", "authorize in the browser; a loopback server takes the code"
    )
    app_options(auth_login, secret=True)
    keep_options(auth_login)
    auth_login.add_argument("--port", type=int, default=8765, help="loopback port (the app's redirect URI)")
    auth_login.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the browser")
    auth_exchange = _subcommand(auth_commands, "auth", "exchange", "exchange an auth_code for the long-term token")
    auth_exchange.add_argument("code", help="the auth_code from the redirect")
    app_options(auth_exchange, secret=True)
    keep_options(auth_exchange)
    auth_list = _subcommand(auth_commands, "auth", "advertisers", "list the advertisers the configured token reaches")
    auth_list.add_argument("--config", required=True, help="path of config.toml")
    auth_list.add_argument(
        "--app-id", default=os.environ.get("TIKTOK_APP_ID"), help="when [tiktok] has no app_id; default $TIKTOK_APP_ID"
    )
    auth_list.add_argument(
        "--secret",
        default=os.environ.get("TIKTOK_APP_SECRET"),
        help="when [tiktok] has no secret; default $TIKTOK_APP_SECRET (prefer the variable: options show in `ps`)",
    )

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

    actions = command("actions", "the actions' circuit breaker: see it, or let rules write again after it opened")
    actions_commands = actions.add_subparsers(dest="actions_command", required=True, metavar="ACTIONS_COMMAND")
    resume = _subcommand(
        actions_commands,
        "actions",
        "resume",
        "close the circuit breaker: rules may write again (recorded with who resumed)",
    )
    resume.add_argument("--config", required=True, help="path of config.toml")
    resume.add_argument("--by", metavar="NAME", help="who resumes, recorded with the breaker (default: the OS user)")
    status = _subcommand(
        actions_commands, "actions", "status", "is the circuit breaker open, why, and the writes it counts"
    )
    status.add_argument("--config", required=True, help="path of config.toml")

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
    silence = command("silence", "mute alerts for a while: they still fire and resolve, but neither notify nor act")
    silence_commands = silence.add_subparsers(dest="silence_command", required=True, metavar="SILENCE_COMMAND")

    def silence_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = silence_commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example: {EXAMPLES['silence ' + name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--config", required=True, help="path of config.toml")
        return sub

    silence_add = silence_command(
        "add", "silence the alerts every MATCHER matches, from now (or --start) for --for or until --until"
    )
    silence_add.add_argument(
        "matchers",
        nargs="+",
        metavar="MATCHER",
        help="rule=NAME, advertiser=ID, level=LEVEL, entity=ID or name=NAME; ~ instead of = for a glob "
        "(name~'Summer *': * ? [..], case-sensitive, the whole value)",
    )
    silence_add.add_argument("--for", dest="duration", metavar="DURATION", help="how long: 30m, 2h, 1d")
    silence_add.add_argument("--until", metavar="TIME", help="when it ends: 2026-12-06T18:00Z (UTC when no offset)")
    silence_add.add_argument("--start", metavar="TIME", help="when it starts (default: now)")
    silence_add.add_argument("--comment", help="why, shown by silence list")
    silence_add.add_argument("--by", metavar="NAME", help="who silences (default: the OS user)")
    silence_list = silence_command("list", "the silences that are active or start later (--all: the ended ones too)")
    silence_list.add_argument("--all", action="store_true", dest="include_expired", help="show ended ones too")
    silence_expire = silence_command("expire", "end a silence now: its alerts notify and act again from the next poll")
    silence_expire.add_argument("id", type=int, help="the silence's id (silence list)")
    silence_expire.add_argument("--by", metavar="NAME", help="who ends it, recorded with it (default: the OS user)")
    approvals = command(
        "approvals",
        "actions of rules with approve that wait for a person: list them, approve (the guards run again, then the "
        "write, journaled with who approved) or reject",
    )
    approvals_commands = approvals.add_subparsers(dest="approvals_command", required=True, metavar="APPROVALS_COMMAND")

    def approvals_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = approvals_commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example: {EXAMPLES['approvals ' + name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--config", required=True, help="path of config.toml")
        return sub

    approvals_list = approvals_command("list", "the actions waiting for approval (--all: the decided ones too)")
    approvals_list.add_argument("--all", action="store_true", dest="include_decided", help="show decided ones too")
    for verb, text in (
        ("approve", "approve an action: the guards run again now; if they let it, it is written and journaled"),
        ("reject", "reject an action: it is dropped, nothing is written"),
    ):
        sub = approvals_command(verb, text)
        sub.add_argument("id", help="the approval's id (approvals list; the alert's message shows it)")
        sub.add_argument("--by", metavar="NAME", help="who decides, recorded with it (default: the OS user)")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "completion":
        sys.stdout.write(script(parser, args.shell))
        return 0
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
                log_level=args.log_level,
                log_format=args.log_format,
            )
    except KeyboardInterrupt:
        return 130
    print(f"unknown command {args.command}", file=sys.stderr)
    return 2
