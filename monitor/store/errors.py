"""The store's part of the exception tree (hangs under :class:`monitor.errors.MonitorError`)::

    MonitorError
    └── StoreError                  the snapshot store failed or refused
        ├── StoreUnavailableError   transient: cannot connect, connection lost, database locked too long
        ├── StoreFullError          the database or its disk is full (SQLITE_FULL, SQLSTATE 53100): nothing written
        ├── SchemaVersionError      the database's schema is newer than (or unknown to) this monitor: never touched
        ├── MigrationError          upgrading an older database failed; the database is left as it was
        ├── LeaseError              the per-advertiser poll lease
        │   ├── LeaseHeldError      another poller holds the advertiser's lease and it has not expired
        │   └── LeaseLostError      our lease was taken over (it had expired) before we committed: nothing written
        └── ShardLostError          the advertiser's shard changed owner (its epoch moved on): nothing written
    UnstorableMetricsError          a poll's metrics hold what the store cannot keep (NaN, infinities, objects)

Only :class:`StoreUnavailableError` is worth retrying as is; a :class:`LeaseHeldError` is retried by the next
scheduled poll. Messages name advertisers, owners and schema revisions, never passwords from the URL.
"""

from __future__ import annotations

from datetime import datetime

from monitor.errors import MonitorError


class StoreError(MonitorError):
    """Base of every error the store raises on purpose."""

    transient = False


class StoreUnavailableError(StoreError):
    """The database cannot be reached or stayed locked: worth retrying later."""

    transient = True


class StoreFullError(StoreError):
    """The database or the disk it is on is full (SQLite's ``database or disk is full``, PostgreSQL's
    ``disk_full``, SQLSTATE 53100): the transaction was rolled back, nothing stored before is damaged. Writes work
    again once space returns; the poller tells it as one ``storage_full`` problem."""


class SchemaVersionError(StoreError):
    """The database was written by a newer (or unknown) version of the monitor; it is refused, not modified."""

    def __init__(self, found: tuple[str, ...], known_head: str) -> None:
        self.found = found
        self.known_head = known_head
        shown = ", ".join(found) or "none"
        super().__init__(
            f"database schema revision {shown} is unknown to this version of tiktok-ads-monitor, whose newest "
            f"revision is {known_head}: the database was written by a newer monitor. Upgrade the monitor, or point "
            f"storage.url at another database; the database was not modified"
        )


class MigrationError(StoreError):
    """Upgrading the schema failed; the migration ran in one transaction and was rolled back."""


class LeaseError(StoreError):
    """Base of the lease errors; ``advertiser_id`` names the advertiser."""

    def __init__(self, message: str, advertiser_id: str) -> None:
        self.advertiser_id = advertiser_id
        super().__init__(message)


class LeaseHeldError(LeaseError):
    """Another poller holds the advertiser's lease: this poll must not run now."""

    def __init__(self, advertiser_id: str, owner: str | None, expires_at: datetime | None) -> None:
        self.owner = owner
        self.expires_at = expires_at
        until = f" until {expires_at.isoformat()}" if expires_at else ""
        super().__init__(
            f"advertiser {advertiser_id} is being polled by {owner or 'another poller'} (lease held{until}); "
            f"skipping this poll",
            advertiser_id,
        )


class LeaseLostError(LeaseError):
    """Our lease expired and another poller took it before we committed; this poll's writes were discarded."""

    def __init__(self, advertiser_id: str, owner: str) -> None:
        self.owner = owner
        super().__init__(
            f"lease on advertiser {advertiser_id} held by {owner} expired and was taken over before the poll "
            f"committed; the poll's writes were rolled back (raise the lease ttl if polls take this long)",
            advertiser_id,
        )


class ShardLostError(StoreError):
    """This replica no longer owns the advertiser's shard at the epoch its poll began with (another replica took it
    over, or it was released in a rebalance): the poll wrote nothing. Not a failure of the advertiser."""

    def __init__(self, advertiser_id: str, shard: int, owner: str, epoch: int) -> None:
        self.advertiser_id = advertiser_id
        self.shard = shard
        super().__init__(
            f"advertiser {advertiser_id}: shard {shard} is no longer owned by {owner} at epoch {epoch}; "
            f"the poll's writes were discarded (another replica polls it now)"
        )


class UnstorableMetricsError(MonitorError, ValueError):
    """A poll's metrics hold a value the store cannot keep as it is (a NaN, an infinity, an object): the poll
    fails and nothing of it is written. The fetch never makes such values (the API's are parsed into finite
    numbers or None). Not a :class:`StoreError`: the database is fine, the poll's data is not, so the poller tells
    it as the advertiser's problem; a ValueError too, as it always was."""
