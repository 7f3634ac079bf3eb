"""Run Airbyte's ``source-tiktok-marketing`` 4.7.0 against the sandbox: check, discover, then a read of every stream.

Not part of the test suite: the connector needs the Airbyte CDK (``airbyte-cdk`` 6.x and its many pins), so it
runs in a virtualenv of its own, and this script runs with that virtualenv's Python::

    python3 -m venv /tmp/abvenv && /tmp/abvenv/bin/pip install airbyte-source-tiktok-marketing==4.7.0
    /tmp/abvenv/bin/python tools/airbyte_check.py --monitor-python .venv/bin/python

Without ``--sandbox-url`` it starts the sandbox from this repository as ``tools/tap_check.py`` does (same
options) and stops it at the end.

How the connector is pointed at the sandbox without editing it: it is a declarative (low-code) connector whose
``url_base`` is a literal, ``https://business-api.tiktok.com/open_api/v1.3/`` (``sandbox-ads.tiktok.com`` with the
``sandbox_access_token`` credentials, which also limit it to a subset of streams and one advertiser), so no
option takes another host. Every request goes through a ``requests`` session that the CDK's ``HttpClient``
makes in ``_request_session``; this script wraps that method so each new session gets, for
``https://business-api.tiktok.com/``, the transport adapter of ``tools/tap_check.py`` that sends the request to the
sandbox instead (same path and query). The connector runs with its production credentials (``oauth2.0``: app id,
secret, access token; no ``advertiser_id``), so it lists the advertisers with ``oauth2/advertiser/get/`` and
reads every stream for each of them.

Each stream is read on its own (a configured catalog with only that stream, incremental when it supports it, no
state), so one failure does not hide the others. For each it prints the records per advertiser (report streams
keep rows from ``--days`` back), the rows the sandbox answered, and for a failure the connector's error and the
sandbox's answers with a non-zero code (from ``/sandbox/arrivals``). Exit status 0 when check, discovery and
every stream succeeded, 1 otherwise (``--allow`` names streams whose failure is expected: in 4.7.0
``pixel_events_statistics``, whose request the sandbox refuses as malformed; see README).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tap_check import ADVERTISERS, _control, redirect_session, start_sandbox

APP_ID, SECRET = "4242424242", "sandbox-secret"  # the sandbox's defaults (monitor/sandbox/settings.py)


def _install_redirect(sandbox_url: str, answered: dict[str, int]) -> None:
    """Every session the CDK's HttpClient makes from now on sends TikTok's host to the sandbox."""
    from airbyte_cdk.sources.streams.http.http_client import HttpClient

    original = HttpClient._request_session

    def redirected(self: Any) -> Any:
        session = original(self)
        redirect_session(session, sandbox_url, answered)
        return session

    HttpClient._request_session = redirected  # type: ignore[method-assign]


def _advertiser_of(record: dict[str, Any]) -> str:
    value = record.get("advertiser_id")
    if value is None and isinstance(record.get("dimensions"), dict):
        value = record["dimensions"].get("advertiser_id")
    return str(value) if value is not None else "none"


def run(
    sandbox_url: str, token: str, start_date: str, only: list[str] | None, include_deleted: bool = False
) -> dict[str, Any]:
    """Check, discover, then each stream's read on its own; what came of each."""
    from airbyte_cdk.models import (
        ConfiguredAirbyteCatalog,
        ConfiguredAirbyteStream,
        DestinationSyncMode,
        Status,
        SyncMode,
        Type,
    )
    from source_tiktok_marketing import SourceTiktokMarketing

    answered: dict[str, int] = {}
    _install_redirect(sandbox_url, answered)
    logger = logging.getLogger("airbyte")
    config = {
        "credentials": {"auth_type": "oauth2.0", "app_id": APP_ID, "secret": SECRET, "access_token": token},
        "start_date": start_date,
        "include_deleted": include_deleted,
    }
    result: dict[str, Any] = {"streams": {}}
    source = SourceTiktokMarketing(None, config, None)
    with contextlib.redirect_stdout(io.StringIO()):
        status = source.check(logger, config)
    result["check"] = "ok" if status.status == Status.SUCCEEDED else f"FAILED: {status.message}"
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            catalog = source.discover(logger, config)
    except Exception as exc:
        result["discovery"] = f"{type(exc).__name__}: {exc}"
        return result
    result["discovery"] = "ok"
    for stream in catalog.streams:
        if only and stream.name not in only:
            continue
        incremental = SyncMode.incremental in (stream.supported_sync_modes or [])
        configured = ConfiguredAirbyteCatalog(
            streams=[
                ConfiguredAirbyteStream(
                    stream=stream,
                    sync_mode=SyncMode.incremental if incremental else SyncMode.full_refresh,
                    destination_sync_mode=DestinationSyncMode.append,
                    cursor_field=stream.default_cursor_field if incremental else None,
                )
            ]
        )
        _control(sandbox_url, "/sandbox/reset", "POST")
        answered.clear()
        records: dict[str, int] = {}
        errors: list[str] = []
        reader = SourceTiktokMarketing(configured, config, None)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the CDK prints its log lines to stdout
                messages = list(reader.read(logger, config, configured, None))
            for message in messages:
                if message.type == Type.RECORD and message.record is not None:
                    who = _advertiser_of(message.record.data)
                    records[who] = records.get(who, 0) + 1
                elif message.type == Type.TRACE and message.trace is not None and message.trace.error is not None:
                    errors.append(message.trace.error.message)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
        outcome: dict[str, Any] = {
            "ok": not errors,
            "mode": "incremental" if incremental else "full_refresh",
            "records": records,
            "rows_answered": dict(answered),
        }
        if errors:
            outcome["failure"] = "; ".join(dict.fromkeys(errors))[:600]
        answers = [a for a in _control(sandbox_url, "/sandbox/arrivals") if a.get("code")]
        if answers:
            outcome["error_answers"] = answers[:3]
        result["streams"][stream.name] = outcome
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sandbox-url", help="a running sandbox (default: start one)")
    parser.add_argument(
        "--monitor-python",
        default=str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"),
        help="the Python with the monitor installed, to start the sandbox (default .venv/bin/python)",
    )
    parser.add_argument("--token", default="airbyte-check-token", help="the sandbox's access token")
    parser.add_argument("--days", type=int, default=3, help="start date this many days back (default 3)")
    parser.add_argument("--qps", type=int, default=1000, help="the started sandbox's --qps (default 1000)")
    parser.add_argument("--stream", action="append", help="read only this stream (repeatable)")
    parser.add_argument("--allow", action="append", default=[], help="a stream whose failure is expected")
    parser.add_argument(
        "--include-deleted", action="store_true", help="the connector's include_deleted option (status filters)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=args.days)).strftime("%Y-%m-%d")
    proc = None
    url = args.sandbox_url
    if url is None:
        proc, url = start_sandbox(args.monitor_python, args.token, args.qps)
    real_stdout = os.dup(1)  # the CDK logs to the process's stdout whatever sys.stdout is: silence it while reading
    quiet = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stdout.flush()
        os.dup2(quiet, 1)
        result = run(url, args.token, start, args.stream, args.include_deleted)
    finally:
        sys.stdout.flush()
        os.dup2(real_stdout, 1)
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)

    failed = [name for name, s in result["streams"].items() if not s["ok"] and name not in args.allow]
    ok = result["check"] == "ok" and result["discovery"] == "ok" and not failed
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if ok else 1
    print(f"source-tiktok-marketing against {url}, start date {start}, advertisers {', '.join(ADVERTISERS)}, ...")
    print(f"  check: {result['check']}; discovery: {result['discovery']}")
    for name, outcome in result["streams"].items():
        total = sum(outcome["records"].values())
        state = "ok" if outcome["ok"] else "expected failure" if name in args.allow else "FAILED"
        print(
            f"  {name} ({outcome['mode']}): {state}, {total} records {outcome['records']}, "
            f"rows answered {outcome['rows_answered']}"
        )
        if not outcome["ok"]:
            print(f"    {outcome['failure']}")
        for answer in outcome.get("error_answers", []):
            print(f"    sandbox answered code {answer['code']} to {answer['method']} {answer['path']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
