"""``check``'s look at the database: the currencies of the advertisers already polled, read-only.

``check`` does not call the API, so the accounts' currencies are only known from the ``advertisers`` table
that earlier polls filled (advertiser/info). :func:`stored_currencies` reads it without creating or migrating
anything (:func:`monitor.preview.readonly.open_readonly`); a database that does not exist yet, cannot be
reached within :data:`TIMEOUT` seconds, or is at another schema revision gives no currencies (so no warning),
and the reason is logged at debug level. A SQLite file that does not exist is not opened at all (nor are the
database libraries loaded): ``check`` before the first poll stays quick.
"""

from __future__ import annotations

import asyncio
import logging

from monitor.clock import SystemClock
from monitor.config import Settings
from monitor.store.urls import sqlite_file

log = logging.getLogger(__name__)

#: Seconds ``check`` waits for the database before going on without the currencies.
TIMEOUT = 5.0


async def stored_currencies(settings: Settings) -> dict[str, str | None]:
    """Advertiser id -> currency (None when unknown) for every advertiser in the database; {} when unknown."""
    database = sqlite_file(settings.storage.url)
    if database is not None and not database.is_file():
        log.debug("advertisers' currencies not read: the database %s does not exist yet", database)
        return {}
    try:
        return await asyncio.wait_for(_read(settings), TIMEOUT)
    except Exception as exc:
        log.debug("advertisers' currencies not read from the database: %s", type(exc).__name__)
        return {}


async def _read(settings: Settings) -> dict[str, str | None]:
    from monitor.preview.readonly import open_readonly  # sqlalchemy and alembic: only for a database to read

    readonly = await open_readonly(settings, SystemClock())
    try:
        return {record.id: record.currency for record in await readonly.store.advertisers()}
    finally:
        await readonly.close()
