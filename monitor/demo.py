"""`tiktok-monitor demo`: the whole monitor against the in-process sandbox, alerts printed to the terminal.

It writes a real config file into a temporary directory (sandbox URL and credentials, the four sandbox
advertisers, a 5-second interval, a temporary SQLite database, the example rules from ``rules/``) and runs
the daemon with it. Without SLACK_BOT_TOKEN, what the rules send to Slack is printed instead; with it (and
optionally SLACK_CHANNEL), it goes to Slack too. When it stops (after ``--cycles``, or Ctrl-C, which exits 130
as the command line's exit codes say) it prints what it saw: polls, alerts fired and resolved per rule.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from monitor.config import load_settings
from monitor.errors import MonitorError
from monitor.logs import SecretRedactor
from monitor.polls import PollOutcome, PollResult
from monitor.sandbox import Sandbox, SandboxSettings

DEMO_INTERVAL = "5s"
#: The exit code of a demo stopped with Ctrl-C (SIGINT), as for every interrupted command.
EXIT_INTERRUPTED = 130


class Tally:
    """What the demo saw, from each poll's outcome: polls per result, alert transitions per (kind, rule)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.polls: Counter[PollResult] = Counter()
        self.alerts: Counter[tuple[str, str]] = Counter()

    def __call__(self, outcome: PollOutcome) -> None:
        self.polls[outcome.result] += 1
        for transition in outcome.summary.transitions if outcome.summary else ():
            kind, rule = transition.split(" ")[:2]  # "firing ad-rejected ad 123"
            self.alerts[(kind, rule)] += 1

    def render(self, *, interrupted: bool) -> str:
        """``demo stopped (Ctrl-C) after 42s: 36 polls (36 ok); fired: ad-rejected 1; resolved: none``"""
        why = " (Ctrl-C)" if interrupted else ""
        total = sum(self.polls.values())
        results = ", ".join(f"{n} {r.value}" for r, n in sorted(self.polls.items()) if n) or "none finished"

        def alerts(kind: str) -> str:
            found = [f"{rule} {n}" for (k, rule), n in sorted(self.alerts.items()) if k == kind]
            return ", ".join(found) or "none"

        return (
            f"demo stopped{why} after {time.monotonic() - self.started:.0f}s: {total} poll(s) ({results}); "
            f"alerts fired: {alerts('firing')}; resolved: {alerts('resolved')}"
        )


def example_rules() -> Path:
    """The example rules: ``rules/`` of the checkout (the current directory's, else the one beside the
    package), or the copy a wheel ships as ``monitor/example_rules``."""
    here = Path(__file__).resolve().parent
    for candidate in (Path.cwd() / "rules", here.parent / "rules", here / "example_rules"):
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    raise MonitorError("the example rules were not found: run `tiktok-monitor demo` from the repository")


def demo_config(base_url: str, sandbox: SandboxSettings, directory: Path, rules: Path) -> str:
    slack_token = os.environ.get("SLACK_BOT_TOKEN")
    channel = os.environ.get("SLACK_CHANNEL", "#ads-alerts")
    ids = ", ".join(f'"{a}"' for a in ("7000000000000000001", "7000000000000000002", "7000000000000000003",
                                        "7000000000000000004"))  # fmt: skip
    return f"""
[tiktok]
base_url = "{base_url}"
access_token = "{sandbox.token}"
advertiser_ids = [{ids}]
[monitor]
interval = "{DEMO_INTERVAL}"
rules = "{rules}"
[storage]
url = "sqlite:///{directory / "demo.db"}"
[slack]
token = "{"${SLACK_BOT_TOKEN}" if slack_token else "demo-prints-to-the-terminal"}"
channel = "{channel}"
[notify]
interval = "1s"
[health]
enabled = false
"""


async def run_demo(*, cycles: int | None = None, redactor: SecretRedactor | None = None) -> int:
    from monitor.daemon import run_daemon  # the daemon imports much; the demo is its only in-process user
    from monitor.wiring import console_channels

    rules = example_rules()
    sandbox_settings = SandboxSettings()
    sandbox = Sandbox(sandbox_settings)
    with tempfile.TemporaryDirectory(prefix="tiktok-monitor-demo-") as tmp:
        directory = Path(tmp)
        async with sandbox.serve("127.0.0.1", 0) as base_url:
            config = directory / "config.toml"
            config.write_text(demo_config(base_url, sandbox_settings, directory, rules))
            settings = load_settings(config)
            if redactor is not None:
                redactor.add(settings.secrets())
            channels = console_channels(settings, sys.stdout, also_slack=bool(os.environ.get("SLACK_BOT_TOKEN")))
            print(f"demo: sandbox API on {base_url}, rules from {rules}, polling 4 advertisers every "
                  f"{DEMO_INTERVAL}; alerts print below. Ctrl-C stops.", flush=True)  # fmt: skip
            polls = None if cycles is None else cycles * len(settings.tiktok.advertiser_ids)
            tally = Tally()
            code = await run_daemon(
                settings, channels=channels, polls=polls, on_poll_done=[tally], interrupted_code=EXIT_INTERRUPTED
            )
            print(tally.render(interrupted=code == EXIT_INTERRUPTED), flush=True)
            return code
