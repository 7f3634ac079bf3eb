"""A COMMIT made slow for a test, on SQLite and PostgreSQL, through the engine's events (nothing patched).

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


class SlowCommit:
    def __init__(self, engine: Any, marker: str, seconds: float, *, lands: bool = False) -> None:
        self.marker, self.seconds, self.lands = marker, seconds, lands
        self.armed, self.held = True, False
        self.holding = asyncio.Event()
        self._engine = engine.sync_engine
        sa.event.listen(self._engine, "before_cursor_execute", self._note)
        sa.event.listen(self._engine, "commit", self._commit)

    def remove(self) -> None:
        sa.event.remove(self._engine, "before_cursor_execute", self._note)
        sa.event.remove(self._engine, "commit", self._commit)

    def _note(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.armed and self.marker in statement:
            conn.info["slow_commit"] = True

    def _commit(self, conn: Any) -> None:
        if conn.info.pop("slow_commit", False) and self.armed:
            self.armed, self.held = False, True
            self.holding.set()
            if self.lands:
                conn.connection.dbapi_connection.commit()  # SQLAlchemy's COMMIT that follows finds nothing to do
            await_only(asyncio.sleep(self.seconds))
