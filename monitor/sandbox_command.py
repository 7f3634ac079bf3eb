"""``tiktok-monitor sandbox``: the simulated Business API (:mod:`monitor.sandbox`) served until interrupted, its
options checked and turned into the :class:`~monitor.sandbox.SandboxSettings` it serves with."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from monitor.command_support import EXIT_FAILED, EXIT_OK
from monitor.gctune import start_up_over, tune_collector
from monitor.logs import setup_logging

if TYPE_CHECKING:
    from monitor.sandbox import SandboxSettings

log = logging.getLogger("monitor")  # the commands' logger, as before they were split from monitor.app


#: Seconds the sandbox's worker thread (building big answers) runs before it hands the GIL to the event loop, which
#: logs and rate-limits each request when it reads it (Python's default: 5 ms). Each request takes the loop many
#: handovers, and with the default a 100,000-ad cycle of ``bench/cycle.py`` logged requests up to 0.23 s after they
#: were sent, together (40100s no client caused: 14 in a second); with 0.5 ms, within 7 ms (two runs, cold and
#: warm: the closest two requests ten apart 1.193 s apart for the limiter's 1.2 s). A loaded machine still delays
#: some (up to 0.19 s in 10 runs at 1,000 ads with two other agents' work on the two cores).
SWITCH_INTERVAL = 0.0005


def _tune_collector() -> None:
    """Once the world is built: the collector tuned as the daemon's (:func:`monitor.gctune.tune_collector`), the
    world frozen, so full collections no longer scan it. With CPython's defaults a full collection over a
    100,000-ad world took up to 0.7 s (25 of them, 7.6 s in all, in a cold and a warm ``once`` of
    ``bench/cycle.py``), holding the event loop: requests that arrived meanwhile were logged and rate-limited when
    it was free, together, as if sent together (40100s no client caused). Tuned, the longest stall in such a run
    was 0.14-0.23 s (a busy loop still logs requests late)."""
    tune_collector(collect=True)


def sandbox_settings(
    *,
    token: str,
    app_id: str,
    secret: str,
    qps: int,
    large_ads: int,
    extra_advertisers: int,
    smart_plus: int,
    webhook_window: float | None,
    flat_delivery: bool,
) -> SandboxSettings:
    """The sandbox command's options as the settings it serves with (see :func:`sandbox`)."""
    from monitor.sandbox import SandboxSettings
    from monitor.sandbox.curve import AMPLITUDE

    return SandboxSettings(
        token=token,
        app_id=app_id,
        secret=secret,
        qps=qps,
        large_ads=large_ads,
        extra_advertisers=extra_advertisers,
        campaigns_per_advertiser=3 + smart_plus,
        smart_plus_campaigns=smart_plus,
        webhook_window=webhook_window,
        delivery_amplitude=0.0 if flat_delivery else AMPLITUDE,
    )


def sandbox(
    *,
    host: str,
    port: int,
    token: str,
    app_id: str,
    secret: str,
    qps: int,
    large_ads: int,
    extra_advertisers: int = 0,
    smart_plus: int = 0,
    webhook_window: float | None = None,
    flat_delivery: bool = False,
    log_level: str = "info",
    log_format: str = "text",
) -> int:
    """Serve the simulated Business API until interrupted. ``smart_plus``: Upgraded Smart+ campaigns added to
    each regular advertiser's three; ``webhook_window``: seconds between REPORT_DATA_CHANGE notices of one
    advertiser instead of the subscription's notify_frequency; ``flat_delivery``: spend rates that do not swing
    over the day (:attr:`SandboxSettings.delivery_amplitude` 0)."""
    from monitor.sandbox import serve_forever

    setup_logging(log_level, log_format)
    if smart_plus < 0:
        log.error("--smart-plus must not be negative")
        return EXIT_FAILED
    if not 0 <= extra_advertisers <= 9999:
        log.error("--extra-advertisers must be between 0 and 9999")
        return EXIT_FAILED
    if webhook_window is not None and not webhook_window > 0:
        log.error("--webhook-window must be positive")
        return EXIT_FAILED
    settings = sandbox_settings(
        token=token,
        app_id=app_id,
        secret=secret,
        qps=qps,
        large_ads=large_ads,
        extra_advertisers=extra_advertisers,
        smart_plus=smart_plus,
        webhook_window=webhook_window,
        flat_delivery=flat_delivery,
    )
    start_up_over()  # the collector on while the world is built; tuned once it is (_tune_collector)
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        asyncio.run(serve_forever(settings, host, port, on_built=_tune_collector))
    except KeyboardInterrupt:
        log.info("sandbox stopped")
    except OSError as exc:
        log.error("cannot serve on %s:%s: %s", host, port, exc.strerror or exc)
        return EXIT_FAILED
    return EXIT_OK
