"""The ``tiktok-monitor`` command groups with subcommands of their own (``auth``, ``actions``, ``silence``,
``approvals``); each ``add_*`` adds its group through ``command`` (:func:`monitor.cli.build_parser`'s)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.cli_examples import EXAMPLES, SUB_EXAMPLES

__all__ = ["Command", "add_actions", "add_approvals", "add_auth", "add_silence"]

#: Adds a top-level command: ``(name, help)`` -> its parser, with the example of :data:`EXAMPLES`.
Command = Callable[[str, str], argparse.ArgumentParser]


def _subcommand(group: Any, parent: str, name: str, help_text: str) -> argparse.ArgumentParser:
    """``parent name`` (e.g. ``auth login``) with its help and its example (:data:`SUB_EXAMPLES`, else
    :data:`EXAMPLES`)."""
    key = f"{parent} {name}"
    parser: argparse.ArgumentParser = group.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example: {SUB_EXAMPLES.get(key) or EXAMPLES[key]}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _configured(group: Any, parent: str) -> Callable[[str, str], argparse.ArgumentParser]:
    """A maker of ``parent``'s subcommands that read ``--config``."""

    def make(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = _subcommand(group, parent, name, help_text)
        sub.add_argument("--config", required=True, help="path of config.toml")
        return sub

    return make


def add_auth(command: Command) -> None:
    """``auth``: ``url``, ``login``, ``exchange`` (getting a token) and ``advertisers`` (what a token reaches)."""
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


def add_actions(command: Command) -> None:
    """``actions``: ``resume`` and ``status`` of the actions' circuit breaker."""
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


def add_silence(command: Command) -> None:
    """``silence``: ``add``, ``list`` and ``expire``."""
    silence = command("silence", "mute alerts for a while: they still fire and resolve, but neither notify nor act")
    silence_commands = silence.add_subparsers(dest="silence_command", required=True, metavar="SILENCE_COMMAND")

    silence_command = _configured(silence_commands, "silence")

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


def add_approvals(command: Command) -> None:
    """``approvals``: ``list``, ``approve`` and ``reject``."""
    approvals = command(
        "approvals",
        "actions of rules with approve that wait for a person: list them, approve (the guards run again, then the "
        "write, journaled with who approved) or reject",
    )
    approvals_commands = approvals.add_subparsers(dest="approvals_command", required=True, metavar="APPROVALS_COMMAND")

    approvals_command = _configured(approvals_commands, "approvals")

    approvals_list = approvals_command("list", "the actions waiting for approval (--all: the decided ones too)")
    approvals_list.add_argument("--all", action="store_true", dest="include_decided", help="show decided ones too")
    for verb, text in (
        ("approve", "approve an action: the guards run again now; if they let it, it is written and journaled"),
        ("reject", "reject an action: it is dropped, nothing is written"),
    ):
        sub = approvals_command(verb, text)
        sub.add_argument("id", help="the approval's id (approvals list; the alert's message shows it)")
        sub.add_argument("--by", metavar="NAME", help="who decides, recorded with it (default: the OS user)")
