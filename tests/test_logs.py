"""Secrets never reach a log line, whatever embeds them."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

from monitor.logs import JsonFormatter, SecretRedactor

TOKEN = "tok-0123456789abcdef"


@pytest.fixture
def capture():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretRedactor([TOKEN, "abc"]))
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream, handler
    logger.removeHandler(handler)


def test_secret_in_message_and_args_is_redacted(capture):
    logger, stream, _ = capture
    logger.info("calling %s?secret=%s", "https://x/open_api", TOKEN)
    logger.info(f"inline {TOKEN}")
    text = stream.getvalue()
    assert TOKEN not in text
    assert text.count("***") == 2


def test_secret_in_exception_text_is_redacted(capture):
    logger, stream, _ = capture
    try:
        raise RuntimeError(f"failed with token {TOKEN}")
    except RuntimeError:
        logger.exception("boom")
    text = stream.getvalue()
    assert TOKEN not in text
    assert "RuntimeError: failed with token ***" in text


def test_short_values_are_not_treated_as_secrets(capture):
    logger, stream, _ = capture
    logger.info("abcdef contains abc")
    assert stream.getvalue().strip() == "abcdef contains abc"


def test_json_lines_carry_level_logger_and_message(capture):
    logger, stream, handler = capture
    handler.setFormatter(JsonFormatter())
    logger.warning("rate limited %d times", 3)
    entry = json.loads(stream.getvalue())
    assert (entry["level"], entry["logger"], entry["message"]) == ("warning", "tests.logs", "rate limited 3 times")


def test_debug_logging_leaves_out_each_statement_and_its_parameters() -> None:
    """``--log-level debug`` is the monitor's debug, not aiosqlite's two lines per statement with every parameter
    (one line of 14 MB for a poll of 100,000 entities)."""
    script = """
import asyncio, logging, aiosqlite
from monitor.logs import setup_logging
setup_logging("debug")
async def main():
    async with aiosqlite.connect(":memory:") as db:
        await db.execute("select ?", ("parameter-value",))
logging.getLogger("monitor.test").debug("monitor debug kept")
asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "monitor debug kept" in done.stderr
    assert "parameter-value" not in done.stderr
