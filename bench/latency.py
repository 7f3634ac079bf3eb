"""Time to detection: from the moment an ad overspends to the Slack message and to the pause, for ``run`` with
plain polling, with adaptive polling, and with TikTok's REPORT_DATA_CHANGE webhook.

This process serves the sandbox (real clock; ``--ads`` ads in one UTC/USD advertiser, each spending a few cents
an hour) and a fake Slack Web API on loopback, and starts ``python -m monitor run`` as a child process with one
rule: an ad whose spend today passes ``--threshold`` (50 USD, far above what any ad spends by itself) is paused
and told to Slack. Then, one after the other, each of ``--injections`` ads overspends: after a random wait
(uniform within one interval) the bench makes it spend ``--threshold`` dollars more over ``--ramp`` seconds, in
steps of 0.2 s (``POST /sandbox/spend``-style surges, straight on the world: the bench is the sandbox), until
the daemon pauses it. An ad spending fast, as after a budget set ten times too high: adaptive polling can see
it coming (its pace over the last two intervals, monitor/pace.py); ``--ramp 0`` makes it one jump, which only a
poll can see.

The overspend moment is the ramp step after which the ad's spend today passes the threshold (computed from the
sandbox's world, to 0.2 s). Measured from it: the fake Slack receiving the chat.postMessage that names the ad,
and the sandbox receiving ``ad/status/update/`` (the pause). p50 and p95 per mode.

Modes (each a fresh daemon and database; the same world, other ads):

* ``polling``: the schedule alone, every ``--interval`` seconds;
* ``adaptive``: ``[monitor] adaptive = true``;
* ``webhook``: ``[tiktok.subscription]``: the sandbox sends a notice at most once per ``--window`` seconds when
  the advertiser's values changed (they change all the time: every ad spends), each notice asks for a poll.
  TikTok's shortest window is 5 minutes: at a 60 s interval that is 5 intervals (``--window`` = 5 x interval);
  ``webhook-short`` runs a window a third of the interval, what 5-minute notices give at a 15-minute interval.

The gap after a poll (``[monitor] min_poll_gap``) is scaled with the interval (a quarter of it: 15 s at 60 s).

    .venv/bin/python bench/latency.py --interval 10 --injections 20            # about 25 minutes
    .venv/bin/python bench/latency.py --interval 60 --injections 20 --modes polling webhook
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from monitor.clock import SystemClock
from monitor.sandbox import LARGE_ADVERTISER_ID, Sandbox, SandboxSettings
from monitor.sandbox.entities import Ad

STEP = 0.2
MODES = ("polling", "adaptive", "webhook", "webhook-short")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Injection:
    ad_id: str
    started: float  # monotonic
    crossed: float | None = None
    slack: float | None = None
    paused: float | None = None


@dataclass
class ModeResult:
    mode: str
    injections: list[Injection] = field(default_factory=list)
    calls: int = 0
    seconds: float = 0.0
    extra_polls: str = ""


class FakeSlack:
    """chat.postMessage (time of arrival and body kept); every other Web API method answers ok."""

    def __init__(self) -> None:
        self.posts: list[tuple[float, str]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/"

    async def _api(self, request: web.Request) -> web.Response:
        body = await request.text()
        if request.match_info["method"] == "chat.postMessage":
            self.posts.append((time.monotonic(), body))
            return web.json_response({"ok": True, "channel": "C0BENCH", "ts": f"{time.time():.6f}"})
        return web.json_response({"ok": True, "messages": [], "channels": [], "user_id": "U0BENCH"})

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(
    directory: Path, mode: str, args: argparse.Namespace, sandbox_url: str, slack_url: str, port: int
) -> Path:
    rules = directory / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "overspend.toml").write_text(
        f'[[rule]]\nname = "overspend"\nlevel = "ad"\nwhen = "spend > {args.threshold}"\nseverity = "critical"\n'
        'notify = ["slack"]\naction = "pause"\n'
    )
    gap = max(1, round(args.interval / 4))
    subscription = ""
    if mode.startswith("webhook"):
        subscription = f'[tiktok.subscription]\nenabled = true\ncallback_url = "http://127.0.0.1:{port}/tiktok/hook"\n'
    path = directory / "config.toml"
    path.write_text(
        f'[tiktok]\nbase_url = "{sandbox_url}"\naccess_token = "sandbox-token"\n'
        f'advertiser_ids = ["{LARGE_ADVERTISER_ID}"]\napp_id = "4242424242"\nsecret = "sandbox-secret"\n'
        f"{subscription}"
        f'[monitor]\ninterval = "{args.interval:g}s"\nadaptive = {"true" if mode == "adaptive" else "false"}\n'
        f'min_poll_gap = "{gap}s"\nrules = "{rules}"\n'
        f'[storage]\nurl = "sqlite:///{directory / "monitor.db"}"\n'
        f'[slack]\ntoken = "xoxb-bench"\nchannel = "C0BENCH"\nbase_url = "{slack_url}"\n'
        f"[actions]\nmax_writes = 1000\n"
        f'[health]\nlisten = "127.0.0.1:{port}"\n'
    )
    return path


def spend_today(sandbox: Sandbox, ad: Ad) -> float:
    now = sandbox.now()
    day = math.floor(now / 86_400) * 86_400  # the advertiser is on UTC
    return sandbox.world.ad_spend(ad, day, math.nextafter(now, math.inf), math.nextafter(now, math.inf))


async def inject(sandbox: Sandbox, ad: Ad, args: argparse.Namespace, pauses: list[float]) -> Injection:
    """Make ``ad`` overspend (see the module docstring) until the daemon pauses it, or 4 intervals pass."""
    paused_before = len(pauses)
    injection = Injection(ad.ad_id, time.monotonic())
    steps = max(1, round(args.ramp / STEP))
    amount = (args.threshold * 1.2) / steps  # 20 % beyond the threshold at the end of the ramp
    deadline = injection.started + args.ramp + 4 * args.interval
    step = 0
    while time.monotonic() < deadline and len(pauses) == paused_before:
        if step < steps or injection.crossed is None:
            sandbox.world.add_surge(ad, amount, sandbox.now())
            step += 1
            if injection.crossed is None and await sandbox.offload(lambda: spend_today(sandbox, ad)) > args.threshold:
                injection.crossed = time.monotonic()
        await asyncio.sleep(STEP)
    if len(pauses) > paused_before:
        injection.paused = pauses[paused_before]
    return injection


async def first_post(slack: FakeSlack, ad: Ad, within: float) -> float | None:
    """When the first Slack message naming ``ad`` arrived, waiting up to ``within`` seconds for it."""
    deadline = time.monotonic() + within
    while True:
        posts = [t for t, body in slack.posts if ad.ad_id in body or ad.name in body]
        if posts or time.monotonic() > deadline:
            return posts[0] if posts else None
        await asyncio.sleep(0.1)


async def wait_healthy(url: str, process: asyncio.subprocess.Process, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise SystemExit(f"the daemon exited with {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url + "/healthz") as response:
                    body = await response.json()
                    if body.get("advertisers", {}).get(LARGE_ADVERTISER_ID, {}).get("status") == "ok":
                        return
            await asyncio.sleep(0.5)
    raise SystemExit("the daemon did not poll in time")


async def metric(url: str, name: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as response:
        text = await response.text()
    found = []
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line.split("{", 1)[1].rsplit(" ", 1)
            reason = labels.split(chr(34))[1]  # reason="adaptive"} -> adaptive
            found.append(f"{reason} {float(value):g}")
    return ", ".join(found)


async def run_mode(
    mode: str, sandbox: Sandbox, ads: list[Ad], args: argparse.Namespace, rng: random.Random
) -> ModeResult:
    slack = FakeSlack()
    await slack.start()
    port = free_port()
    result = ModeResult(mode)
    window = args.window if mode == "webhook" else args.interval / 3
    sandbox.settings = _with_window(sandbox.settings, window)
    pauses: list[float] = []
    watched = len(sandbox.arrivals)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp), mode, args, sandbox.base_url or "", slack.url, port)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        log = (Path(tmp) / "daemon.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "--log-level", "info", "run", "--config", str(cfg),
            stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_healthy(url, process)
            seen = len(sandbox.arrivals)
            started = time.monotonic()

            async def watch_pauses() -> None:
                nonlocal seen
                while True:
                    for arrival in sandbox.arrivals[seen:]:
                        if arrival.path == "ad/status/update/":
                            pauses.append(arrival.t)
                    seen = len(sandbox.arrivals)
                    await asyncio.sleep(0.05)

            watcher = asyncio.get_running_loop().create_task(watch_pauses())
            for ad in ads:
                await asyncio.sleep(rng.uniform(0, args.interval))
                injection = await inject(sandbox, ad, args, pauses)
                injection.slack = await first_post(slack, ad, within=args.interval + 10)
                result.injections.append(injection)
                print(f"  {mode} {len(result.injections)}/{len(ads)}: {_line(injection)}", flush=True)
            watcher.cancel()
            result.seconds = time.monotonic() - started
            result.calls = sum(1 for a in sandbox.arrivals[watched:] if a.t >= started)
            result.extra_polls = await metric(url, "tiktok_monitor_extra_polls_total")
        finally:
            if process.returncode is None:
                process.terminate()
            await process.wait()
            if args.logs:  # the daemon's log of this mode, to see which polls ran when
                Path(args.logs).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - between modes
                shutil.copy(Path(tmp) / "daemon.log", Path(args.logs) / f"{mode}-{args.interval:g}s.log")
            if process.returncode not in (0, -15):
                print((Path(tmp) / "daemon.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            log.close()
            sandbox.subscriptions.items.clear()  # the next mode's daemon listens elsewhere
            await slack.close()
    return result


def _with_window(settings: SandboxSettings, window: float) -> SandboxSettings:
    from dataclasses import replace

    return replace(settings, webhook_window=window)


def _line(i: Injection) -> str:
    if i.crossed is None:
        return "never crossed"
    show = lambda t: "-" if t is None else f"{t - i.crossed:.1f}s"  # noqa: E731
    return f"ramp {i.crossed - i.started:.1f}s, Slack {show(i.slack)}, pause {show(i.paused)}"


def pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def table(results: list[ModeResult], args: argparse.Namespace) -> str:
    lines = [
        "| mode | injections | Slack p50 | Slack p95 | pause p50 | pause p95 | missed | API calls/min | extra polls |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        done = [i for i in r.injections if i.crossed is not None]
        slack = [i.slack - i.crossed for i in done if i.slack is not None and i.crossed is not None]
        pause = [i.paused - i.crossed for i in done if i.paused is not None and i.crossed is not None]
        missed = sum(1 for i in done if i.slack is None or i.paused is None)

        def cell(values: list[float], q: float) -> str:
            return f"{pct(values, q):.1f} s" if values else "-"

        per_minute = r.calls / r.seconds * 60 if r.seconds else 0.0
        lines.append(
            f"| {r.mode} | {len(done)} | {cell(slack, 0.5)} | {cell(slack, 0.95)} | {cell(pause, 0.5)} | "
            f"{cell(pause, 0.95)} | {missed} | {per_minute:.1f} | {r.extra_polls or '-'} |"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    n_ads = args.injections * len(args.modes) + 5
    sandbox = Sandbox(
        SandboxSettings(large_ads=n_ads, webhook_window=args.window, webhook_backoff=0.5), clock=SystemClock()
    )
    ads = list(sandbox.world.advertisers[LARGE_ADVERTISER_ID].ad_index.values())
    rng.shuffle(ads)
    results = []
    async with sandbox.serve("127.0.0.1", 0):
        for index, mode in enumerate(args.modes):
            chosen = ads[index * args.injections : (index + 1) * args.injections]
            print(f"{mode}: {len(chosen)} injections, interval {args.interval}s", flush=True)
            results.append(await run_mode(mode, sandbox, chosen, args, rng))
    print()
    print(
        f"interval {args.interval:g} s, ramp {args.ramp:g} s to {args.threshold:g} USD, webhook window "
        f"{args.window:g} s (webhook-short: {args.interval / 3:g} s), gap after a poll "
        f"{max(1, round(args.interval / 4))} s"
    )
    print(table(results, args))
    if args.json:
        Path(args.json).write_text(  # noqa: ASYNC240 - once, at the end
            json.dumps([r.__dict__ | {"injections": [i.__dict__ for i in r.injections]} for r in results], default=str)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=60.0, help="[monitor] interval, seconds (default 60)")
    parser.add_argument("--injections", type=int, default=20, help="overspends per mode (default 20)")
    parser.add_argument("--ramp", type=float, default=None, help="seconds to cross the threshold (default: interval)")
    parser.add_argument("--window", type=float, default=None, help="webhook window, s (default: 5 x interval)")
    parser.add_argument("--threshold", type=float, default=50.0, help="the rule's spend threshold, USD")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--json", help="also write every injection's times to this file")
    parser.add_argument("--logs", help="keep each mode's daemon log in this directory")
    args = parser.parse_args()
    args.ramp = args.interval if args.ramp is None else args.ramp
    args.window = 5 * args.interval if args.window is None else args.window
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
