"""The README's first command ends in `tiktok-monitor demo`: a new user must see an alert within a minute."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_prints_an_alert_within_a_minute():
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL")}
    result = subprocess.run(
        # 8 cycles of the demo's 5 s interval: 40 s of polling, the "within a minute" a new user gets
        [sys.executable, "-m", "monitor", "demo", "--cycles", "8"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # the sandbox rejects an ad about 30 s after it starts, whatever the time of day
    assert "Firing: ad-rejected · Acme Outdoor US · 1 ad" in result.stdout
    assert "Traceback" not in result.stderr
    # the example rules scope their money thresholds to one currency: the sandbox's USD, NZD and JPY accounts
    # trip no warning of the monitor's about them
    assert "with a fixed amount" not in result.stderr


def test_ctrl_c_stops_the_demo_with_130_and_a_summary():
    """Issue 15: Ctrl-C ended the demo with 0 and without a word of what it saw."""
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_CHANNEL")}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("demo: sandbox API on"), first
        time.sleep(7)  # more than one cycle of the demo's 5 s interval
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, rest
    summary = [line for line in rest.splitlines() if line.startswith("demo stopped (Ctrl-C) after ")]
    assert summary, rest
    polls = int(re.search(r": (\d+) poll\(s\) \((\d+) ok", summary[0]).group(1))  # type: ignore[union-attr]
    assert polls >= 4  # every advertiser polled at least once
    assert "alerts fired: " in summary[0] and "resolved: " in summary[0]
    assert "Traceback" not in rest
