"""Statements a poll runs every time, built once per process (issue 18: a poll's fixed cost).

Building a SQLAlchemy statement and working out its cache key (by which SQLAlchemy finds its compiled form) costs
about 0.1 to 0.3 ms of CPU, every time: a statement object run again finds its key memoized and is neither built
nor keyed anew. A poll runs about fifteen statements besides its rows, so each is a module's constant, its values
bound by name at each execution; those of one dialect's constructs (``ON CONFLICT``) are built on first use for
the connection's dialect, by :class:`PerDialect`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

_T = TypeVar("_T")


class PerDialect(Generic[_T]):
    """``build(dialect_name)`` made once for each dialect, on first use: ``statement(conn)`` gives the one of
    ``conn``'s dialect."""

    def __init__(self, build: Callable[[str], _T]) -> None:
        self._build = build
        self._built: dict[str, _T] = {}

    def __call__(self, conn: AsyncConnection) -> _T:
        name = conn.dialect.name
        found = self._built.get(name)
        if found is None:
            found = self._built[name] = self._build(name)
        return found
