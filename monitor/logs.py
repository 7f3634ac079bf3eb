"""Logging set-up: text or JSON lines, and a filter that keeps secrets out of every record."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime


class SecretRedactor(logging.Filter):
    """Replaces every known secret value in a record's final message with ``***``.

    Secrets are masked where they are held (pydantic SecretStr) and never put into messages on purpose;
    this filter is the second line of defence for text that embeds them by accident (URLs, echoed bodies).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # very short values would redact ordinary words; real tokens and secrets are long
        self._secrets.update(s for s in secrets if s and len(s) >= 6)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            clean = self.redact(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception text)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "text", secrets: Iterable[str] = ()) -> SecretRedactor:
    """Configure the root logger once for the process; returns the redactor so more secrets can be added."""
    handler = logging.StreamHandler(sys.stderr)
    redactor = SecretRedactor(secrets)
    handler.addFilter(redactor)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # libraries' routine chatter: an access line per request, two lines per scheduled job, migration details, and
    # aiosqlite's two debug lines per statement with all its parameters (at 100,000 entities one line of 14 MB: a
    # debug run of ``once`` spent more CPU formatting them than polling)
    noisy = ("aiohttp.access", "apscheduler.executors.default", "apscheduler.scheduler", "alembic.runtime", "aiosqlite")
    for name in noisy:
        logging.getLogger(name).setLevel(logging.WARNING)
    return redactor
