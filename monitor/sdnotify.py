"""systemd's notification protocol (sd_notify) without a dependency: readiness, status, watchdog, stopping.

systemd passes ``$NOTIFY_SOCKET`` to a ``Type=notify`` service: the path of an AF_UNIX datagram socket (a
leading ``@`` means the abstract namespace). Each message is one datagram of ``KEY=VALUE`` lines. With
``WatchdogSec=`` systemd also sets ``$WATCHDOG_USEC`` (and ``$WATCHDOG_PID``) and kills the service when no
``WATCHDOG=1`` arrives within that time; :func:`watchdog_loop` pings at half of it while the daemon says it is
alive, so a stuck daemon gets restarted.

What the watchdog proves: the event loop turns (a blocked loop sends no ping) and the scheduler runs. It does
*not* prove that advertisers are watched; ``/healthz`` does (degraded or 503). Polls waiting out a legitimate
rate-limit pause, a TikTok outage or a revoked token must not get the service killed: a restart fixes none of
them, and each poll ends by its deadline anyway.

Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op. Sending never raises: a lost notification must
not take the daemon down, so failures are logged (once per kind of error) and ignored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

__all__ = ["SystemdNotifier", "watchdog_interval", "watchdog_loop"]

SEND_TIMEOUT = 1.0  # seconds one message may wait for room in systemd's queue


class SystemdNotifier:
    """Sends sd_notify messages to ``socket_path``; a notifier with no path does nothing.

    Build it with :meth:`from_env` in the daemon; tests pass the path of a socket they bind themselves.
    """

    def __init__(self, socket_path: str | None, *, send_timeout: float = SEND_TIMEOUT) -> None:
        self._send_timeout = send_timeout
        self._address: str | bytes | None = _address(socket_path) if socket_path else None
        self._socket: socket.socket | None = None
        self._failed: set[str] = set()  # error kinds already logged

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        """A notifier for ``$NOTIFY_SOCKET`` (a no-op one when it is unset or empty)."""
        environ = os.environ if environ is None else environ
        return cls(environ.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        """True when there is a socket to notify."""
        return self._address is not None

    def notify(self, *fields: str) -> bool:
        """Send one datagram of ``KEY=VALUE`` fields; returns whether it was sent (False when disabled)."""
        if self._address is None:
            return False
        message = "\n".join(fields).encode()
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # blocking like libsystemd's sd_notify, but bounded: systemd drains its socket at once, and a
                # READY=1 or STOPPING=1 dropped because a queue was momentarily full would be worse
                self._socket.settimeout(self._send_timeout)
            self._socket.sendto(message, self._address)
        except OSError as exc:
            kind = type(exc).__name__
            if kind not in self._failed:
                self._failed.add(kind)
                logger.warning("sd_notify to %s failed: %s (further %s errors not logged)", self._address, exc, kind)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """``READY=1``: start-up is complete (systemd's ``start`` returns, dependants start)."""
        return self.notify("READY=1", *_status(status))

    def reloading(self, status: str | None = None) -> bool:
        """``RELOADING=1``: a reload began; send :meth:`ready` when it is done."""
        return self.notify("RELOADING=1", *_status(status))

    def status(self, text: str) -> bool:
        """``STATUS=...``: one line shown by ``systemctl status``."""
        return self.notify(*_status(text))

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: the daemon is alive."""
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        """``STOPPING=1``: shutdown began."""
        return self.notify("STOPPING=1", *_status(status))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> SystemdNotifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _address(path: str) -> str | bytes:
    # "@name" is Linux's abstract namespace: the address starts with a NUL byte and has no file
    return b"\0" + path[1:].encode() if path.startswith("@") else path


def _status(text: str | None) -> tuple[str, ...]:
    # a newline would start a new KEY=VALUE field
    return () if text is None else ("STATUS=" + " ".join(text.splitlines()),)


def watchdog_interval(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Seconds between watchdog pings: half of ``$WATCHDOG_USEC``, or None when the watchdog is off.

    As sd_watchdog_enabled(3) says, ``$WATCHDOG_PID``, when set, must be this process (``pid``, default ours):
    otherwise the variables were inherited from a parent and are not meant for us.
    """
    environ = os.environ if environ is None else environ
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    watchdog_pid = environ.get("WATCHDOG_PID", "")
    if watchdog_pid and watchdog_pid != str(os.getpid() if pid is None else pid):
        return None
    return int(usec) / 2_000_000


async def watchdog_loop(
    notifier: SystemdNotifier, is_healthy: Callable[[], bool], interval: float | None = None
) -> None:
    """Ping the watchdog every ``interval`` seconds (default :func:`watchdog_interval`) while ``is_healthy()``.

    Returns at once when there is no watchdog; otherwise runs until cancelled. While ``is_healthy()`` is false
    (or raises) no ping is sent, so systemd restarts the service after ``WatchdogSec``; a blocked event loop
    sends none either. Pass a liveness check (the daemon passes "the scheduler runs"), not one that an API
    outage or a rate-limit pause fails: restarting does not bring TikTok back.
    """
    if interval is None:
        interval = watchdog_interval()
    if interval is None or not notifier.enabled:
        return
    withheld = False
    while True:
        try:
            healthy = is_healthy()
        except Exception:
            logger.exception("watchdog health check raised; treating the daemon as unhealthy")
            healthy = False
        if healthy:
            if withheld:
                logger.info("daemon healthy again: resuming watchdog pings")
            notifier.watchdog()
        elif not withheld:
            logger.warning("daemon unhealthy: withholding watchdog pings; systemd will restart it")
        withheld = not healthy
        await asyncio.sleep(interval)
