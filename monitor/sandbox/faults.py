"""Fault injection: make the next matching requests fail the way the real API (or the network) sometimes does.

Kinds:

* ``http_error``  — HTTP ``status`` (e.g. 500, 502, 503, 504) with a short plain-text body, no envelope;
* ``api_code``    — HTTP 200 envelope with ``code`` (e.g. 50000, 40100, 40133, 40002, 51010) and ``message``;
* ``slow``        — sleep ``delay`` seconds, then answer normally;
* ``html``        — HTTP 200 with an HTML error page (content-type text/html), as a proxy in front might send;
* ``disconnect``  — close the connection without answering (note: aiohttp's client silently retries an
  idempotent request once when the connection drops, so a GET needs ``count=2`` to be seen failing);
* ``task_failed`` — (sandbox extension) the next ``report/task/check/`` marks the checked async report task
  FAILED with ``message``.

``path`` None matches any API path, otherwise the path relative to /open_api/v1.3/ (e.g. "campaign/get/");
``count`` is how many matching requests the fault consumes. Faults are consumed in the order they were added.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

KINDS = ("http_error", "api_code", "slow", "html", "disconnect", "task_failed")
TASK_CHECK_PATH = "report/task/check/"

DEFAULT_MESSAGES = {
    40002: "Parameter error (injected by the sandbox).",
    40100: "Due to too many requests, requests from App [{app_id}] are temporarily restricted.",
    40105: "Access token is incorrect or has been revoked.",
    40133: "The number of requests per second of advertiser has exceeded the limit for this path.",
    50000: "System error, please try again later.",
    50002: "Processing error, please try again later.",
    51010: "Service timeout, please try again later.",
    60001: "The system is under maintenance.",
}


@dataclass(slots=True)
class Fault:
    """One injected failure; see the module docstring for the kinds."""

    kind: str
    status: int = 500
    code: int = 50000
    message: str | None = None
    delay: float = 1.0
    count: int = 1
    path: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if not (isinstance(self.count, int) and self.count >= 1):
            raise ValueError("count must be an integer >= 1")
        if not (isinstance(self.status, int) and 100 <= self.status <= 599):
            raise ValueError("status must be an HTTP status code")
        if not isinstance(self.code, int) or isinstance(self.code, bool):
            raise ValueError("code must be an integer")
        if not isinstance(self.delay, int | float) or self.delay < 0:
            raise ValueError("delay must be a non-negative number")
        if self.path is not None:
            if not isinstance(self.path, str):
                raise ValueError("path must be a string or null")
            self.path = self.path.removeprefix("/").removeprefix("open_api/v1.3/")

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """A fault from a JSON object with the field names above; raises ValueError on anything else."""
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise ValueError("kind is required")
        return cls(**data)

    def applies_to(self, rel_path: str) -> bool:
        if self.kind == "task_failed" and rel_path != TASK_CHECK_PATH:
            return False
        return self.path is None or self.path == rel_path

    def envelope_message(self, app_id: str) -> str:
        if self.message is not None:
            return self.message
        return DEFAULT_MESSAGES.get(self.code, "Injected error.").format(app_id=app_id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultQueue:
    """Pending faults, first added first consumed."""

    def __init__(self) -> None:
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._pending.append(fault)

    def take(self, rel_path: str) -> Fault | None:
        """Consume one use of the first fault matching ``rel_path``."""
        for i, fault in enumerate(self._pending):
            if fault.applies_to(rel_path):
                fault.count -= 1
                if fault.count <= 0:
                    del self._pending[i]
                return fault
        return None

    def clear(self) -> None:
        self._pending.clear()

    @property
    def pending(self) -> list[Fault]:
        return list(self._pending)
