"""``tiktok-monitor auth url|login|exchange|advertisers`` on the command line: the options checked, the work
(:mod:`monitor.auth.commands`) run and its text printed; only ``advertisers`` reads the configuration."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TextIO

from monitor.command_support import EXIT_FAILED, EXIT_INVALID, EXIT_OK, print_problems, settings_or_exit
from monitor.errors import ConfigError, MonitorError
from monitor.logs import setup_logging


def auth(args: argparse.Namespace) -> int:
    """``auth url|login|exchange|advertisers``: see monitor.auth.commands."""
    from monitor.auth import commands
    from monitor.wiring import build_client

    setup_logging(args.log_level, args.log_format, [getattr(args, "secret", None) or ""])
    if args.auth_command == "advertisers":
        settings = settings_or_exit(args.config)
        if isinstance(settings, int):
            return settings
        try:
            settings = commands.with_app_keys(settings, args.app_id, getattr(args, "secret", None))
        except ConfigError as exc:
            return print_problems(exc)
        setup_logging(args.log_level, args.log_format, settings.secrets())
        listed = settings
        return _print_result(
            commands.advertisers(lambda session: build_client(listed, session), listed.actions.min_budget)
        )
    if not args.app_id:
        print("the app id is needed: set TIKTOK_APP_ID (or pass --app-id)", file=sys.stderr)
        return EXIT_INVALID
    app = commands.AppCredentials(args.app_id, getattr(args, "secret", None), args.base_url.rstrip("/"))
    if args.auth_command == "url":
        print(commands.url(app, port=args.port, redirect=args.redirect_uri))
        return EXIT_OK
    if args.auth_command == "login":
        work = commands.login_and_store(
            app,
            port=args.port,
            wait=args.timeout,
            print_token=args.print_token,
            token_file=args.token_file,
            force=args.force,
        )
    else:
        work = commands.exchange_and_store(
            app, args.code, print_token=args.print_token, token_file=args.token_file, force=args.force
        )
    return _print_result(work, stream=sys.stderr)


def _print_result(work: Coroutine[Any, Any, str], *, stream: TextIO = sys.stdout) -> int:
    try:
        text = asyncio.run(work)
    except MonitorError as exc:  # AuthFlowError, TokenFileError, ApiError: their messages hold no secret
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(text, file=stream, end="" if text.endswith("\n") else "\n")
    return EXIT_OK
