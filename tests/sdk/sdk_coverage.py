"""Which endpoints the monitor calls, read from its client's code, and which ones the SDK tests cover.

The monitor talks to TikTok only through ``monitor/tiktok/`` (every request goes through
``Transport.request(method, path, ...)``), so its endpoints are the API paths written in those modules: string
literals such as ``"changelog/task/create/"`` and f-strings such as ``f"{SMART_PLUS_PREFIX if smart_plus else
''}{level.value}/status/update/"``, whose placeholders are expanded with :data:`PLACEHOLDERS`. A placeholder not
in that table makes :func:`monitor_endpoints` raise, so a new way of building a path cannot slip past the check.

The SDK tests declare what they cover with ``@pytest.mark.endpoints("path/", ...)``; the fixture in conftest checks
after each test that the sandbox did answer each declared path with success, and :func:`declared_endpoints` reads
the declarations from the test files' source (not from the collected tests, so running one file still checks the
whole suite's coverage).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "monitor" / "tiktok"
SDK_TESTS = Path(__file__).resolve().parent
MARKER = "endpoints"

#: An API path as the client writes it: relative to /open_api/v1.3/, two or more segments, a trailing slash.
PATH = re.compile(r"[a-z0-9_]+(?:/[a-z0-9_]+)+/")
#: The f-string tail of a path (what follows the last placeholder), e.g. ``/get/`` or ``campaign/update/``.
TAIL = re.compile(r"(?:[a-z0-9_]+)?(?:/[a-z0-9_]+)*/")
#: The values each placeholder of a path f-string in monitor/tiktok takes (ast.unparse of the expression).
#: ``level.value``: the client's entity and write methods refuse Level.ADVERTISER before building the path.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "level.value": ("campaign", "adgroup", "ad"),
    "SMART_PLUS_PREFIX if smart_plus else ''": ("smart_plus/", ""),
}


def _expand(node: ast.JoinedStr, where: str) -> list[str]:
    texts = [""]
    for part in node.values:
        if isinstance(part, ast.Constant):
            texts = [t + str(part.value) for t in texts]
            continue
        assert isinstance(part, ast.FormattedValue)
        key = ast.unparse(part.value)
        if key not in PLACEHOLDERS:
            raise ValueError(f"{where}: the path f-string's {{{key}}} is not in sdk_coverage.PLACEHOLDERS")
        texts = [t + v for t in texts for v in PLACEHOLDERS[key]]
    return texts


def _paths(source: str, where: str) -> Iterator[str]:
    tree = ast.parse(source)
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inner:
            if PATH.fullmatch(node.value):
                yield node.value
        elif isinstance(node, ast.JoinedStr):
            last = node.values[-1] if node.values else None
            tail = last.value if isinstance(last, ast.Constant) else ""
            if isinstance(tail, str) and tail and TAIL.fullmatch(tail):
                yield from (p for p in _expand(node, f"{where}:{node.lineno}") if PATH.fullmatch(p))


def monitor_endpoints(client_dir: Path = CLIENT) -> frozenset[str]:
    """Every API path the modules of ``client_dir`` (monitor/tiktok) can request."""
    found: set[str] = set()
    for module in sorted(client_dir.glob("*.py")):
        found.update(_paths(module.read_text(), str(module.relative_to(client_dir.parent.parent))))
    return frozenset(found)


def _marker_paths(decorators: Iterable[ast.expr]) -> Iterator[str]:
    for d in decorators:
        if isinstance(d, ast.Call) and ast.unparse(d.func).endswith(f"mark.{MARKER}"):
            for arg in d.args:
                assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), ast.unparse(arg)
                yield arg.value


def declared_endpoints(test_dir: Path = SDK_TESTS) -> dict[str, list[str]]:
    """Each endpoint declared by a test of ``test_dir`` (``@pytest.mark.endpoints``) -> the tests declaring it."""
    out: dict[str, list[str]] = {}
    for module in sorted(test_dir.glob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for path in _marker_paths(node.decorator_list):
                    out.setdefault(path, []).append(f"{module.name}::{node.name}")
    return out
