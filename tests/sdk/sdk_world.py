"""Constants and helpers shared by the SDK tests (a uniquely named module: test directories have no __init__)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

#: 16:30 in New York: the same world instant as tests/sandbox.
START = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)
TOKEN = "sandbox-token"
NY = "7000000000000000001"
TODAY = "2026-11-24"


def ok(answer: Any) -> Any:
    """The ``data`` of a successful envelope: the SDK answers ``{"data", "request_id"}`` when ``code`` is 0 and
    raises ``TiktokSDKError`` otherwise."""
    assert answer["request_id"]
    return answer["data"]


def raw(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    """An endpoint the SDK has no method for, through its ``ApiClient.call_api``: the SDK's own serialization of
    ``query_params`` and ``body``, its envelope parsing, its ``TiktokSDKError`` for a non-zero code."""
    return client.call_api(
        f"/open_api/v1.3/{path}",
        method,
        header_params={"Access-Token": TOKEN, "Content-Type": "application/json"},
        response_type="InlineResponse200",
        _return_http_data_only=True,
        **kwargs,
    )
