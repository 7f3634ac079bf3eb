"""The exception tree of tiktok-ads-monitor.

Every error the daemon raises on purpose derives from :class:`MonitorError`, so the command line and the
per-advertiser boundary can catch "ours" without catching programming errors::

    MonitorError
    ├── ConfigError                 config.toml or a rule file is wrong; carries every problem found
    ├── StoreError                  the database (monitor/store/errors.py)
    │   ├── StoreUnavailableError   transient: locked, connection lost; try the poll again later
    │   ├── SchemaVersionError      the database is newer than this program: refuse, never downgrade
    │   ├── MigrationError          an upgrade failed and was rolled back
    │   └── LeaseError              LeaseHeldError: another poller has the advertiser; LeaseLostError: it took over
    ├── PollTimeoutError            a poll ran past [monitor] poll_timeout and was cancelled (names the stage)
    └── ApiError                    the TikTok Business API refused or failed  (monitor/tiktok/errors.py)
        ├── TransientApiError       worth retrying: 5xx, timeouts, broken bodies, 50000/50002/51xxx/60001, ...
        │   └── RateLimitedError    40100 (the whole app), 40016 (one endpoint), 40133 (one advertiser): slow down
        ├── AuthError               40102/40104/40105: the advertiser must re-authorize; never retried
        ├── PermanentApiError       any other 4xxxx: the request itself is wrong; never retried
        └── BadResponseError        code 0, but an answer we cannot use: a wrong shape, or a list that cannot be
                                    read completely; names the endpoint and the field; never retried at once

Messages never contain secrets: tokens and app secrets are not part of any exception's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from monitor.durations import format_duration


class MonitorError(Exception):
    """Base of every error raised on purpose by the monitor."""


class PollTimeoutError(MonitorError):
    """A poll ran past its deadline (``[monitor] poll_timeout``) and was cancelled in ``stage`` (fetch, act, ...);
    nothing of it was committed. (A COMMIT under way is waited for, and a poll it committed does not fail; one that
    PostgreSQL leaves unanswered too long is let go, and ``detail`` then says that whether it was written is
    unknown: the poll's record tells.)"""

    def __init__(self, timeout: timedelta, stage: str, detail: str | None = None) -> None:
        self.timeout = timeout
        self.stage = stage
        more = f": {detail}" if detail else ""
        super().__init__(f"poll timed out after {format_duration(timeout)} in stage {stage}{more}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f"{self.key}: " if self.key else ""
        return f"{where}: {key}{self.message}"


@dataclass(frozen=True)
class Origin:
    """Where a setting naming another file or directory is written (``[monitor] rules``, a test file's
    ``rule_files``): a problem with what it names, like a missing directory, is reported there."""

    file: str
    line: int | None
    key: str

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line, self.key, message)


class ConfigError(MonitorError):
    """The configuration (or a rule file) is invalid. ``problems`` lists every problem, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
