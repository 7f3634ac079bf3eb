"""Run the Singer tap ``tap-tiktok-ads`` 1.2.1 against the sandbox: discovery, then a sync of every stream.

Not part of the test suite: the tap pins ``requests==2.34.2`` and ``singer-python==6.8.0``, so it runs in a
virtualenv of its own, and this script runs with that virtualenv's Python::

    python3 -m venv /tmp/tapvenv && /tmp/tapvenv/bin/pip install tap-tiktok-ads==1.2.1
    /tmp/tapvenv/bin/python tools/tap_check.py --monitor-python .venv/bin/python

Without ``--sandbox-url`` it starts ``<monitor-python> -m monitor sandbox --port <free> --token <token>`` from this
repository (``PYTHONPATH`` set to it) and stops it at the end; with ``--sandbox-url http://127.0.0.1:8808`` it
uses a sandbox already running with that ``--token``.

How the tap is pointed at the sandbox without editing it: ``TikTokClient`` builds its URLs from literals
(``https://business-api.tiktok.com/open_api/v1.3/...``; only the ``sandbox`` config option changes the host, to
``sandbox-ads.tiktok.com``, and it also skips the advertisers stream), so no option takes another host. Every
request goes through the client's ``requests.Session``; this script mounts on that session a transport adapter
for ``https://business-api.tiktok.com/`` that sends each request to the sandbox instead (same path and query).
The session is a private attribute (``_TikTokClient__session``), read once before the client's first request.

Each stream is synced on its own (a catalog with only that stream selected), so one failure does not hide the
others. For each it prints the records the tap wrote per advertiser (the tap keeps only entities modified
since the start date, and report rows from it on) and the rows the sandbox answered; for a failure, the
exception and the sandbox's answers with a non-zero code (from ``/sandbox/arrivals``).

The sandbox it starts takes ``--qps`` requests a second (default 1000): the tap does not pace itself (discovery
sends 11 requests at once) and answers TikTok's 40100 by waiting 300 s, which the app's 10 QPS would trigger.
Exit status 0 when discovery and every stream succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ADVERTISERS = ("7000000000000000001", "7000000000000000002")
TIKTOK_ORIGIN = "https://business-api.tiktok.com/"
REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(python: str, token: str, qps: int) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python -m monitor sandbox`` from this repository and wait until its port accepts connections."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [python, "-m", "monitor", "sandbox", "--port", str(port), "--token", token, "--qps", str(qps)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the sandbox exited with status {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the sandbox did not open its port within 30 s")


def redirect_session(session: Any, sandbox_url: str, answered: dict[str, int]) -> None:
    """Mount on a ``requests.Session`` an adapter that sends every request for TikTok's host to the sandbox.

    ``answered`` counts the rows (``data.list`` items) of the sandbox's successful answers per advertiser
    (``all`` for requests over ``advertiser_ids``).
    """
    from requests.adapters import HTTPAdapter

    target = sandbox_url.rstrip("/") + "/"

    class ToSandbox(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            request.url = target + request.url[len(TIKTOK_ORIGIN) :]
            response = super().send(request, *args, **kwargs)
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                body = response.json()
                if body.get("code") == 0 and "list" in body.get("data", {}):
                    query = request.url.partition("?")[2]
                    advertiser = query.split("advertiser_id=")[1].split("&")[0] if "advertiser_id=" in query else "all"
                    answered[advertiser] = answered.get(advertiser, 0) + len(body["data"]["list"])
            return response

    session.mount(TIKTOK_ORIGIN, ToSandbox())


def _control(sandbox_url: str, path: str, method: str = "GET") -> Any:
    req = urllib.request.Request(sandbox_url.rstrip("/") + path, method=method)  # noqa: S310 - loopback sandbox
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
        return json.loads(resp.read())


def _count_records(output: str) -> dict[str, int]:
    """Records per advertiser in the Singer messages the tap wrote."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD":
            advertiser = str(message["record"].get("advertiser_id"))
            counts[advertiser] = counts.get(advertiser, 0) + 1
    return counts


def _failure(exc: BaseException) -> str:
    first, _, rest = str(exc).partition("\n")
    details = [line.strip() for line in rest.splitlines() if line.strip() and len(line) < 200]
    text = f"{type(exc).__name__}: {'; '.join([first, *details])}"
    response = getattr(exc, "response", None)
    if response is not None:
        with contextlib.suppress(Exception):
            text += f" | answer: {response.text[:600]}"
    return text


def run(sandbox_url: str, token: str, accounts: list[str], start_date: str) -> dict[str, Any]:
    """Discovery, then each stream's sync on its own; what came of each (records per advertiser, or the failure)."""
    from singer import metadata
    from tap_tiktok_ads.client import TikTokClient
    from tap_tiktok_ads.discover import discover
    from tap_tiktok_ads.streams import STREAMS
    from tap_tiktok_ads.sync import sync

    config = {"access_token": token, "accounts": accounts, "start_date": start_date, "request_timeout": 30}
    client = TikTokClient(
        access_token=token, advertiser_id=accounts, sandbox="false", request_timeout=30, config=config
    )
    answered: dict[str, int] = {}
    redirect_session(client._TikTokClient__session, sandbox_url, answered)  # type: ignore[attr-defined]
    result: dict[str, Any] = {"streams": {}}
    with client:
        try:
            catalog = discover(client)
        except Exception as exc:
            result["discovery"] = _failure(exc)
            return result
        result["discovery"] = "ok"
        found = {entry.tap_stream_id for entry in catalog.streams}
        result["excluded_by_discovery"] = sorted(set(STREAMS) - found)
        for entry in catalog.streams:
            _control(sandbox_url, "/sandbox/reset", "POST")
            for other in catalog.streams:
                mdata = metadata.to_map(other.metadata)
                mdata = metadata.write(mdata, (), "selected", other is entry)
                other.metadata = metadata.to_list(mdata)
            out = io.StringIO()
            answered.clear()
            outcome: dict[str, Any] = {}
            try:
                with contextlib.redirect_stdout(out):
                    sync(client, config, {}, catalog)
                outcome["ok"] = True
            except Exception as exc:
                outcome["ok"] = False
                outcome["failure"] = _failure(exc)
            outcome["records"] = _count_records(out.getvalue())
            outcome["rows_answered"] = dict(answered)
            errors = [a for a in _control(sandbox_url, "/sandbox/arrivals") if a.get("code")]
            if errors:
                outcome["error_answers"] = errors[:5]
            result["streams"][entry.tap_stream_id] = outcome
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox-url", help="a running sandbox (default: start one)")
    parser.add_argument(
        "--monitor-python",
        default=str(REPO / ".venv" / "bin" / "python"),
        help="the Python with the monitor installed, to start the sandbox (default .venv/bin/python)",
    )
    parser.add_argument("--token", default="tap-check-token", help="the sandbox's access token")
    parser.add_argument("--accounts", default=",".join(ADVERTISERS), help="advertiser ids, comma-separated")
    parser.add_argument("--days", type=int, default=3, help="start date this many days back (default 3)")
    parser.add_argument("--qps", type=int, default=1000, help="the started sandbox's --qps (default 1000)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=args.days)).strftime("%Y-%m-%dT00:00:00Z")
    proc = None
    url = args.sandbox_url
    if url is None:
        proc, url = start_sandbox(args.monitor_python, args.token, args.qps)
    try:
        result = run(url, args.token, args.accounts.split(","), start)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)

    ok = result["discovery"] == "ok" and all(s["ok"] for s in result["streams"].values())
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if ok else 1
    print(f"tap-tiktok-ads against {url}, start date {start}; discovery: {result['discovery']}")
    if result.get("excluded_by_discovery"):
        print(f"  excluded by discovery: {', '.join(result['excluded_by_discovery'])}")
    for name, outcome in result["streams"].items():
        total = sum(outcome["records"].values())
        state = "ok" if outcome["ok"] else "FAILED"
        print(
            f"  {name}: {state}, {total} records written {outcome['records']}, rows answered {outcome['rows_answered']}"
        )
        if not outcome["ok"]:
            print(f"    {outcome['failure']}")
        for answer in outcome.get("error_answers", []):
            print(f"    sandbox answered code {answer['code']} to {answer['method']} {answer['path']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
