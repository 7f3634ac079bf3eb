"""``monitor.lazy.defer_asyncio_orm``: SQLAlchemy's asyncio extension imported without the ORM its package imports
(issue 18: start-up), every name of the package still there. Each probe is a fresh interpreter: the test process
imported the package long ago."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

PROBE = """
import asyncio, json, sys
from monitor.lazy import defer_asyncio_orm
defer_asyncio_orm()
defer_asyncio_orm()  # a second call adds nothing
finders = sum(type(f).__name__ == "_DeferredPackage" for f in sys.meta_path)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

async def core():
    engine = create_async_engine(f"sqlite+aiosqlite:///{sys.argv[2]}")
    async with engine.begin() as connection:
        value = (await connection.execute(text("SELECT 41 + 1"))).scalar_one()
    await engine.dispose()
    return value, isinstance(engine, AsyncEngine)

value, engine = asyncio.run(core())
import sqlalchemy.ext.asyncio as package
submodule = package.engine.AsyncEngine is AsyncEngine  # its submodules are its attributes, as the __init__ makes them
orm_after_core = "sqlalchemy.orm" in sys.modules
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # the ORM half: the package's own __init__
from sqlalchemy.ext.asyncio.session import AsyncSession as session_class

async def orm():
    engine = create_async_engine(f"sqlite+aiosqlite:///{sys.argv[2]}")
    async with async_sessionmaker(engine)() as session:
        value = (await session.execute(text("SELECT 6 * 7"))).scalar_one()
    await engine.dispose()
    return value

try:
    from sqlalchemy.ext.asyncio import NoSuchName
    missing = "imported"
except ImportError:
    missing = "ImportError"
json.dump({"finders": finders, "core": value, "engine": engine, "submodule": submodule, "orm_after_core": orm_after_core,
           "orm": asyncio.run(orm()), "same_class": AsyncSession is session_class,
           "orm_loaded": "sqlalchemy.orm" in sys.modules, "engine_name": package.AsyncEngine is AsyncEngine,
           "missing": missing}, open(sys.argv[1], "w"))
"""

AFTER = """
import json, sys
import sqlalchemy.ext.asyncio
from monitor.lazy import defer_asyncio_orm
before = list(sys.meta_path)
defer_asyncio_orm()  # the package was imported whole already: nothing to defer
json.dump({"unchanged": sys.meta_path == before}, open(sys.argv[1], "w"))
"""


def run(tmp_path: Path, code: str) -> dict[str, Any]:
    result = tmp_path / "probe.json"
    done = subprocess.run(
        [sys.executable, "-c", code, str(result), str(tmp_path / "probe.db")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(result.read_text())
    return found


def test_the_asyncio_engine_works_without_the_orm_and_the_orm_half_still_loads_when_used(tmp_path: Path) -> None:
    found = run(tmp_path, PROBE)
    assert found["finders"] == 1
    # a Core engine and connection ran a statement; the package's submodules are its attributes
    assert (found["core"], found["engine"], found["submodule"]) == (42, True, True)
    assert found["orm_after_core"] is False  # ... and sqlalchemy.orm was never imported
    # the names of the ORM half are the package's own, and work: AsyncSession is sqlalchemy's, a session runs
    assert (found["orm"], found["same_class"], found["orm_loaded"], found["engine_name"]) == (42, True, True, True)
    assert found["missing"] == "ImportError"  # a name the package does not have is still an error


def test_it_does_nothing_once_the_package_is_imported(tmp_path: Path) -> None:
    assert run(tmp_path, AFTER) == {"unchanged": True}


THREADS = """
import importlib.resources, json, sys, threading
from monitor.lazy import defer_asyncio_orm
defer_asyncio_orm()
import sqlalchemy.ext.asyncio
failed = []
start = threading.Barrier(4)

def use():
    start.wait()
    try:
        from sqlalchemy.ext.asyncio import async_sessionmaker  # the ORM half, asked for by four threads at once
    except BaseException as exc:
        failed.append(type(exc).__name__)

threads = [threading.Thread(target=use) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
files = sorted(p.name for p in importlib.resources.files("sqlalchemy.ext.asyncio").iterdir() if p.name.endswith(".py"))
json.dump({"failed": failed, "has_init": "__init__.py" in files, "has_engine": "engine.py" in files},
          open(sys.argv[1], "w"))
"""


def test_threads_asking_for_the_orm_half_at_once_all_get_it_and_the_packages_files_are_its_own(tmp_path: Path) -> None:
    """The package's ``__init__`` runs once, whichever thread asks first; the others wait for it (review). Its
    loader is still the real one for everything but running the ``__init__`` (resources, source)."""
    found = run(tmp_path, THREADS)
    assert found == {"failed": [], "has_init": True, "has_engine": True}
