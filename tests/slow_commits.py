"""A COMMIT made slow (or failing) for a test, on SQLite and PostgreSQL, through the engine's events (nothing
patched).

:class:`CommitHook` marks the next transaction that runs a statement it picks (``picks``) and calls ``at_commit``
with that transaction's DBAPI connection at its COMMIT, once: the scaffolding of the hooks below and of the
tests' own (a poll's final COMMIT failing, or landing with its answer late).

:class:`SlowCommit` picks the next transaction that runs a statement containing a marker (a table's name, say)
and holds its COMMIT ``seconds``: before the database has it (``lands=False``: a cancellation meanwhile used to
keep it from being sent at all) or after (``lands=True``: committed at once, the answer late). Disarmed after one
COMMIT. ``holding`` is set once the COMMIT is held (a test cancels then).

(Imported by bare name, like polling.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlalchemy.util import await_only


class CommitHook:
    """Calls :meth:`at_commit` at the COMMIT of the next transaction that ran a statement :meth:`picks`; then
    disarmed. Listens to the engine's events until :meth:`remove`."""

    def __init__(self, engine: Any) -> None:
        self.armed = True
        self._engine = engine.sync_engine
        sa.event.listen(self._engine, "before_cursor_execute", self._note)
        sa.event.listen(self._engine, "commit", self._commit)

    def remove(self) -> None:
        sa.event.remove(self._engine, "before_cursor_execute", self._note)
        sa.event.remove(self._engine, "commit", self._commit)

    def picks(self, statement: str) -> bool:
        raise NotImplementedError

    def at_commit(self, dbapi: Any) -> None:
        raise NotImplementedError

    def _note(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.armed and self.picks(statement):
            conn.info["commit_hook"] = True

    def _commit(self, conn: Any) -> None:
        if conn.info.pop("commit_hook", False) and self.armed:
            self.armed = False
            self.at_commit(conn.connection.dbapi_connection)


def final_poll_write(statement: str) -> bool:
    """The statement a poll's final transaction records its outcome on the advertiser with."""
    return statement.lstrip().startswith("UPDATE") and "last_poll_status" in statement


class SlowCommit(CommitHook):
    def __init__(self, engine: Any, marker: str, seconds: float, *, lands: bool = False) -> None:
        self.marker, self.seconds, self.lands = marker, seconds, lands
        self.held = False
        self.holding = asyncio.Event()
        super().__init__(engine)

    def picks(self, statement: str) -> bool:
        return self.marker in statement

    def at_commit(self, dbapi: Any) -> None:
        self.held = True
        self.holding.set()
        if self.lands:
            dbapi.commit()  # SQLAlchemy's COMMIT that follows finds nothing to do
        await_only(asyncio.sleep(self.seconds))
