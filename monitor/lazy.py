"""Package faces that load their adapters only when asked (PEP 562), so importing the pure parts of a package
(values, decisions) never pulls in sqlalchemy, aiohttp, slack_sdk or jinja2."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module path relative to
    ``package``, e.g. ``".repo"``) on first use of ``name`` and caches the value in the package."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
