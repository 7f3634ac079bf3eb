"""Constants shared by the SDK tests (a uniquely named module: test directories have no __init__)."""

from __future__ import annotations

from datetime import UTC, datetime

#: 16:30 in New York: the same world instant as tests/sandbox.
START = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)
TOKEN = "sandbox-token"
NY = "7000000000000000001"
TODAY = "2026-11-24"
