"""The monitor's command line run as a user runs it: a subprocess, which leaves the test's event loop free to
serve the sandbox meanwhile."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


async def cli(*args: str) -> tuple[int, str, str]:
    """``python -m monitor *args`` in the repository's root: its exit code, stdout and stderr. TIKTOK_* variables
    of the environment the tests run in are left out (app credentials there would change what a command does)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=REPO,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
