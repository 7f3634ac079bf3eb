"""sd_notify against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.sdnotify import SystemdNotifier, watchdog_interval, watchdog_loop


class FakeSystemd:
    """The receiving end of $NOTIFY_SOCKET."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.setblocking(False)

    def messages(self) -> list[str]:
        received = []
        while True:
            try:
                received.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return received


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[tuple[FakeSystemd, str]]:
    path = str(tmp_path / "notify.sock")
    if len(path) >= 100:  # sun_path is 108 bytes; a very deep tmp_path would not fit
        pytest.skip(f"tmp_path too long for an AF_UNIX socket path: {path}")
    fake = FakeSystemd(path)
    yield fake, path
    fake.sock.close()


def test_messages_arrive_as_datagrams(systemd: tuple[FakeSystemd, str]) -> None:
    fake, path = systemd
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("polling 3 advertisers")
    assert notifier.status("last poll ok\nsecond line")
    assert notifier.watchdog()
    assert notifier.reloading()
    assert notifier.stopping()
    notifier.close()
    assert fake.messages() == [
        "READY=1\nSTATUS=polling 3 advertisers",
        "STATUS=last poll ok second line",
        "WATCHDOG=1",
        "RELOADING=1",
        "STOPPING=1",
    ]


def test_abstract_namespace_socket() -> None:
    name = f"tiktok-monitor-test-{uuid.uuid4().hex}"
    fake = FakeSystemd(b"\0" + name.encode())
    try:
        with SystemdNotifier.from_env({"NOTIFY_SOCKET": "@" + name}) as notifier:
            assert notifier.ready()
        assert fake.messages() == ["READY=1"]
    finally:
        fake.sock.close()


def test_no_socket_means_no_op() -> None:
    notifier = SystemdNotifier.from_env({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert SystemdNotifier.from_env({"NOTIFY_SOCKET": ""}).enabled is False


def test_a_missing_socket_is_logged_once_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = SystemdNotifier(str(tmp_path / "gone.sock"))
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert len([r for r in caplog.records if "sd_notify" in r.getMessage()]) == 1
    notifier.close()


def test_a_full_queue_delays_a_message_briefly_then_drops_it(
    systemd: tuple[FakeSystemd, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, path = systemd  # never read: the kernel queues only a few datagrams (net.unix.max_dgram_qlen)
    with SystemdNotifier(path, send_timeout=0.05) as notifier:
        sent = 0
        while notifier.watchdog():
            sent += 1
            assert sent < 10_000, "the queue never filled"
        begun = time.monotonic()
        assert notifier.stopping() is False
        assert 0.04 < time.monotonic() - begun < 1.0
    assert sent > 0
    assert len([r for r in caplog.records if "sd_notify" in r.getMessage()]) == 1
    assert fake.messages() == ["WATCHDOG=1"] * sent


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval(env) == expected


async def test_watchdog_pings_only_while_healthy(systemd: tuple[FakeSystemd, str]) -> None:
    fake, path = systemd
    notifier = SystemdNotifier(path)
    healthy = True
    loop_task = asyncio.create_task(watchdog_loop(notifier, lambda: healthy, interval=0.05))
    try:
        await asyncio.sleep(0.22)
        pinged = len(fake.messages())
        assert pinged >= 3
        healthy = False
        await asyncio.sleep(0.06)  # let a ping already due go out
        fake.messages()
        await asyncio.sleep(0.2)
        assert fake.messages() == []
        healthy = True
        await asyncio.sleep(0.12)
        assert "WATCHDOG=1" in fake.messages()
    finally:
        loop_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop_task
        notifier.close()


async def test_a_raising_health_check_withholds_pings(systemd: tuple[FakeSystemd, str]) -> None:
    fake, path = systemd

    def broken() -> bool:
        raise RuntimeError("bug")

    with SystemdNotifier(path) as notifier:
        loop_task = asyncio.create_task(watchdog_loop(notifier, broken, interval=0.05))
        await asyncio.sleep(0.12)
        loop_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop_task
    assert fake.messages() == []


async def test_watchdog_loop_returns_without_a_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)  # in case the tests themselves run under a watchdog
    await asyncio.wait_for(watchdog_loop(SystemdNotifier(None), lambda: True, interval=0.01), 1)
    await asyncio.wait_for(watchdog_loop(SystemdNotifier("/nonexistent"), lambda: True, interval=None), 1)
