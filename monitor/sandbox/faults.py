"""Fault injection: make the next matching requests fail the way the real API (or the network) sometimes does.

Kinds:

* ``http_error``  — HTTP ``status`` (e.g. 500, 502, 503, 504) with a short plain-text body, no envelope;
* ``api_code``    — HTTP 200 envelope with ``code`` (e.g. 50000, 40100, 40133, 40002, 51010) and ``message``;
* ``slow``        — sleep ``delay`` seconds, then answer normally;
* ``html``        — HTTP 200 with an HTML error page (content-type text/html), as a proxy in front might send;
* ``disconnect``  — close the connection without answering (note: aiohttp's client silently retries an
  idempotent request once when the connection drops, so a GET needs ``count=2`` to be seen failing);
* ``task_failed`` — (sandbox extension) the next ``report/task/check/`` marks the checked async report task
  FAILED with ``message``;
* ``patch``       — (sandbox extension) the endpoint answers as usual, then ``patch``, a list of JSON Patch
  operations (RFC 6902: ``add``, ``replace``, ``remove``; paths are JSON Pointers into the whole envelope),
  changes its JSON answer: a hostile or malformed answer with everything else real, e.g.
  ``[{"op": "replace", "path": "/data", "value": [1, 2, 3]}]``, ``[{"op": "remove", "path": "/data/list"}]``,
  ``[{"op": "replace", "path": "/data/page_info/total_page", "value": 1000000}]``; a first operation that
  replaces the path ``""`` (the whole answer) may stand in for any answer, a CSV download too. A patch that
  does not apply (no such path, a CSV answer) answers HTTP 500 saying why.

``path`` None matches any API path, otherwise the path relative to /open_api/v1.3/ (e.g. "campaign/get/");
``advertiser_id`` None matches any request, otherwise only requests for that advertiser (their
``advertiser_id`` parameter); ``count`` is how many matching requests the fault consumes. Faults are consumed
in the order they were added.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

KINDS = ("http_error", "api_code", "slow", "html", "disconnect", "task_failed", "patch")
PATCH_OPS = ("add", "replace", "remove")
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
    advertiser_id: str | None = None
    patch: list[dict[str, Any]] | None = None

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
        if self.advertiser_id is not None and not isinstance(self.advertiser_id, str):
            raise ValueError("advertiser_id must be a string or null")
        if (self.kind == "patch") != (self.patch is not None):
            raise ValueError("patch is required for kind patch, and only for it")
        if self.patch is not None:
            _check_patch(self.patch)

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

    def applies_to(self, rel_path: str, advertiser_id: str | None = None) -> bool:
        if self.kind == "task_failed" and rel_path != TASK_CHECK_PATH:
            return False
        if self.advertiser_id is not None and self.advertiser_id != advertiser_id:
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

    def take(self, rel_path: str, advertiser_id: str | None = None) -> Fault | None:
        """Consume one use of the first fault matching ``rel_path`` (and the request's ``advertiser_id``)."""
        for i, fault in enumerate(self._pending):
            if fault.applies_to(rel_path, advertiser_id):
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


class PatchError(ValueError):
    """A JSON Patch operation that does not apply to the answer."""


def _check_patch(patch: object) -> None:
    if not isinstance(patch, list) or not patch:
        raise ValueError("patch must be a non-empty list of JSON Patch operations")
    for op in patch:
        if not isinstance(op, dict) or op.get("op") not in PATCH_OPS or not isinstance(op.get("path"), str):
            raise ValueError(f"each patch operation is {{op: {' | '.join(PATCH_OPS)}, path: a JSON Pointer, value}}")
        if op["path"] and not op["path"].startswith("/"):
            raise ValueError(f"patch path {op['path']!r} must be empty or start with /")
        if op["op"] != "remove" and "value" not in op:
            raise ValueError(f"patch operation {op['op']} needs a value")
        unknown = set(op) - {"op", "path", "value"}
        if unknown:
            raise ValueError(f"unknown patch operation field(s): {', '.join(sorted(unknown))}")


def apply_patch(document: Any, patch: list[dict[str, Any]]) -> Any:
    """``document`` (decoded JSON) changed by ``patch`` (add, replace, remove; RFC 6902 semantics for those).
    Raises PatchError when a path does not lead anywhere."""
    for op in patch:
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
        if not tokens:  # the whole document
            if op["op"] == "remove":
                raise PatchError("cannot remove the whole answer")
            document = op["value"]
            continue
        parent = document
        for token in tokens[:-1]:
            parent = _step(parent, token, op["path"])
        last = tokens[-1]
        if isinstance(parent, dict):
            if op["op"] != "add" and last not in parent:
                raise PatchError(f"{op['path']}: no such member")
            if op["op"] == "remove":
                del parent[last]
            else:
                parent[last] = op["value"]
        elif isinstance(parent, list):
            size = len(parent) + 1 if op["op"] == "add" else len(parent)
            index = len(parent) if last == "-" and op["op"] == "add" else _index(last, size, op["path"])
            if op["op"] == "remove":
                del parent[index]
            elif op["op"] == "add":
                parent.insert(index, op["value"])
            else:
                parent[index] = op["value"]
        else:
            raise PatchError(f"{op['path']}: its parent is not an object or a list")
    return document


def _step(node: Any, token: str, path: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise PatchError(f"{path}: no member {token!r}")
        return node[token]
    if isinstance(node, list):
        return node[_index(token, len(node), path)]
    raise PatchError(f"{path}: {token!r} is inside a value that is not an object or a list")


def _index(token: str, size: int, path: str) -> int:
    if not token.isdigit() or int(token) >= size:
        raise PatchError(f"{path}: {token!r} is not an index of a list of {size}")
    return int(token)
