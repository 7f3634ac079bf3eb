"""The README's first command ends in `tiktok-monitor demo`: a new user must see an alert within a minute."""

from __future__ import annotations

import os
import subprocess
import sys
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
