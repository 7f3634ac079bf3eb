"""Loading only what is used (issue 18): package faces that load their adapters only when asked (PEP 562), so
importing the pure parts of a package (values, decisions) never pulls in sqlalchemy, aiohttp, slack_sdk or jinja2;
and SQLAlchemy's asyncio extension without the ORM its package imports (:func:`defer_asyncio_orm`)."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader  # importlib.abc imports importlib.resources, tempfile, shutil...: not at start


#: Modules a poll loads only on a rare branch (a status or budget changed: the Change Log; an account past the sync
#: report's cap: report tasks; explain, backtest, revert; maintenance; debug tallies; the token file): ``once``
#: never pays for them unless it takes that branch (tests/structure/test_startup_imports.py).
LATER = (
    "monitor.checking", "monitor.tiktok.changelog", "monitor.tiktok.reports", "monitor.store.history_read",
    "monitor.store.size", "monitor.preview.tally", "monitor.auth.tokenfile",
)  # fmt: skip


def load_later() -> None:
    """Import :data:`LATER` now: the daemon does at start, so that a package upgraded in place while it runs for
    months cannot load a newer module into the old process hours later, at the first rare branch."""
    for module in LATER:
        importlib.import_module(module)


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module path relative to
    ``package``, e.g. ``".repo"``, or absolute) on first use of ``name`` and caches the value in the package."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__


#: The package whose ``__init__`` imports the ORM: its asyncio ``AsyncSession`` beside the Core engine.
ASYNCIO_PACKAGE = "sqlalchemy.ext.asyncio"
#: The names of that package the store uses (Core: engines, connections, results) and the module of each.
ASYNCIO_CORE = {
    **dict.fromkeys(
        ("AsyncConnection", "AsyncEngine", "AsyncTransaction", "async_engine_from_config", "create_async_engine",
         "create_async_pool_from_url"),
        ".engine",
    ),
    **dict.fromkeys(("AsyncMappingResult", "AsyncResult", "AsyncScalarResult", "AsyncTupleResult"), ".result"),
}  # fmt: skip


def defer_asyncio_orm() -> None:
    """Import ``sqlalchemy.ext.asyncio`` from now on without the ORM, until a name of the ORM half is used.

    The store uses SQLAlchemy Core only (``AsyncEngine``, ``AsyncConnection``: :mod:`monitor.store.models` maps
    no class), but the package ``sqlalchemy.ext.asyncio`` imports its ``AsyncSession`` too, which imports
    ``sqlalchemy.orm``: some 45 ms of a command's start-up, about a tenth of ``once``'s imports. After this call
    (the command line's, before a command's modules are imported: :mod:`monitor.cli`), the package is created
    without running its ``__init__``; the names of :data:`ASYNCIO_CORE` come from their own modules
    (``.engine``, ``.result``, which import no ORM) on first use, and the first use of any other name (say
    ``AsyncSession``) runs the package's ``__init__`` as SQLAlchemy wrote it, ORM and all: every name still
    works (the check that greenlet is installed, which that ``__init__`` makes, comes at the first connection
    instead). Does nothing once the package is imported (its ``__init__`` already ran) or a second time."""
    if ASYNCIO_PACKAGE not in sys.modules and not any(isinstance(f, _DeferredPackage) for f in sys.meta_path):
        sys.meta_path.insert(0, _DeferredPackage(ASYNCIO_PACKAGE, ASYNCIO_CORE))


class _DeferredPackage:
    """A finder of ``sys.meta_path``: ``package`` as the path finder finds it, with its ``__init__`` deferred
    (:class:`_DeferredInit`)."""

    def __init__(self, package: str, names: Mapping[str, str]) -> None:
        self._package = package
        self._names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self._package:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return None  # not a package found on the path: imported as usual
        spec.loader = cast("Loader", _DeferredInit(spec.loader, self._names))  # a loader by its two methods
        return spec


class _DeferredInit:
    """A package's loader that gives the package a module ``__getattr__`` instead of running its ``__init__``:
    ``names`` are imported from their modules on first use, a submodule when it is first asked for (``from .
    import exc`` in the package's own modules, ``package.engine``); any other name runs the ``__init__``, once
    (threads asking at once wait for the first); everything else a loader does is the real loader's."""

    def __init__(self, loader: Loader, names: Mapping[str, str]) -> None:
        self._loader = loader
        self._names = names

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)  # the real loader's other methods (resources, source, is_package)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        loader, names, package = self._loader, self._names, module.__name__
        whole = threading.RLock()  # one thread runs the __init__; the others wait for it, then read its names
        ran: list[bool] = []

        def __getattr__(name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            if PathFinder.find_spec(f"{package}.{name}", module.__path__) is not None:
                return importlib.import_module(f"{package}.{name}")  # a submodule, as the __init__ would have it
            where = names.get(name)
            if where is None:  # a name beyond the Core ones: the package's own __init__, whole, once
                with whole:
                    if not ran:
                        loader.exec_module(module)  # raises: nothing marked, the next use tries again
                        ran.append(True)
                        module.__dict__.pop("__getattr__", None)
                if name not in module.__dict__:
                    raise AttributeError(f"module {package!r} has no attribute {name!r}")
                return module.__dict__[name]
            value = getattr(importlib.import_module(where, package), name)
            setattr(module, name, value)
            return value

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
