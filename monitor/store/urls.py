"""Storage URLs, without the database libraries: which driver a URL gets, and where a SQLite file is.

Pure string work (stdlib only), so reading a configuration (:mod:`monitor.config_monitor` checks the URL with
:func:`normalize_url`) and ``check`` load neither sqlalchemy nor alembic. :mod:`monitor.store.db` opens engines
with :func:`normalize_url` too: one definition of what the store can open.
"""

from __future__ import annotations

from pathlib import Path

from monitor.store.errors import StoreError


def normalize_url(url: str) -> str:
    """Pick the async driver for a storage URL: sqlite -> aiosqlite, postgresql/postgres -> asyncpg."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StoreError(f"storage url {url.split('@')[-1]!r} is not a URL: expected sqlite:///path or postgresql://")
    base, _, driver = scheme.partition("+")
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}" if driver in ("", "aiosqlite") else _refuse(scheme)
    if base in ("postgresql", "postgres"):
        if driver in ("", "asyncpg"):
            return f"postgresql+asyncpg://{rest}"
        return f"postgresql+psycopg://{rest}" if driver in ("psycopg", "psycopg_async") else _refuse(scheme)
    return _refuse(scheme)


def _refuse(scheme: str) -> str:
    raise StoreError(
        f"storage url scheme {scheme!r} is not supported: use sqlite:///path, postgresql+asyncpg:// "
        "or postgresql+psycopg://"
    )


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (``sqlite:///monitor.db`` -> ``monitor.db``, ``sqlite:////abs/path`` ->
    ``/abs/path``; a query is not part of it); None for another database or an in-memory one."""
    scheme, _, rest = url.partition("://")
    if scheme.partition("+")[0] != "sqlite" or not rest.startswith("/"):
        return None
    database = rest[1:].partition("?")[0]
    return Path(database) if database and database != ":memory:" else None
