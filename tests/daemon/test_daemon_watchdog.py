"""What the systemd watchdog proves: the event loop turns and the scheduler runs. `run` whose polls are stuck in a
long wait (a rate-limit pause, a slow API: no poll finishes for several intervals) must keep pinging, so systemd
does not kill it; /healthz, not the watchdog, says that advertisers are not watched meanwhile."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from monitor.sandbox import Fault, Sandbox

ADV = "7000000000000000001"
STUCK = 6.0  # seconds every campaign/get/ waits: six intervals with no poll finishing


def drain(sock: socket.socket) -> list[str]:
    got = []
    while True:
        try:
            got.append(sock.recv(4096).decode())
        except BlockingIOError:
            return got


async def test_run_keeps_pinging_the_watchdog_while_no_poll_finishes(tmp_path: Path, live_sandbox: Sandbox) -> None:
    path = str(tmp_path / "notify.sock")
    if len(path) >= 100:
        pytest.skip(f"tmp_path too long for an AF_UNIX socket path: {path}")
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(path)
    systemd.setblocking(False)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.toml").write_text('[[rule]]\nname = "spending"\nlevel = "campaign"\nwhen = "spend > 0"\n')
    config = tmp_path / "config.toml"
    config.write_text(
        f'[tiktok]\nbase_url = "{live_sandbox.base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'[monitor]\ninterval = "1s"\nrules = "rules"\npoll_timeout = "20s"\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n[health]\nenabled = false\n'
    )
    live_sandbox.faults.add(Fault(kind="slow", delay=STUCK, path="campaign/get/", count=100))
    # systemd gives WatchdogSec=2s: a ping every second; with no ping for 2 s it would kill the service
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000", "PYTHONUNBUFFERED": "1"}
    env.pop("WATCHDOG_PID", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        async with asyncio.timeout(20):
            while "READY=1" not in "".join(drain(systemd)):  # noqa: ASYNC110 - a datagram socket, polled
                await asyncio.sleep(0.1)
        await asyncio.sleep(STUCK - 1)  # every poll is stuck in campaign/get/ all this time
        stuck = [a for a in live_sandbox.arrivals if a.path == "campaign/get/"]
        assert stuck and all(a.code is None for a in stuck)  # none answered yet: no poll has finished
        pings = drain(systemd)
        assert pings.count("WATCHDOG=1") >= STUCK - 3  # about one a second: systemd would not kill it
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 45)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        systemd.close()
    assert process.returncode == 0, output.decode()
