"""The store's one :class:`~sqlalchemy.MetaData` (:data:`METADATA`, its naming convention), the column type for
times (:class:`UTCDateTime`) and the shorthands every table module of :mod:`monitor.store.models` builds its
columns with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa

#: Constraint names are explicit so future migrations (SQLite batch mode included) can refer to them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out. PostgreSQL stores ``timestamptz``; SQLite, which has no time zones, stores
    naive UTC text in one fixed format, so comparisons and ordering stay correct. Naive input is refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes aware datetimes (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def timestamp(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A :class:`UTCDateTime` column, not NULL unless ``nullable``."""
    return sa.Column(name, UTCDateTime, nullable=nullable)


def optional(name: str, type_: Any = sa.String, *args: Any) -> sa.Column[Any]:
    """A column that may be NULL."""
    return sa.Column(name, type_, *args, nullable=True)


def required(name: str, type_: Any = sa.String, *args: Any, **kw: Any) -> sa.Column[Any]:
    """A column that may not be NULL; ``default``: the value an insert that leaves it out writes."""
    return sa.Column(name, type_, *args, nullable=False, **kw)


def key(name: str, type_: Any = sa.String, *args: Any, **kw: Any) -> sa.Column[Any]:
    """A column of the primary key."""
    return sa.Column(name, type_, *args, primary_key=True, nullable=False, **kw)


def fk(target: str) -> sa.ForeignKey:
    return sa.ForeignKey(target)


#: Every table of the store (alembic's target: monitor.store.migrations.env; tests/store/test_migrations.py): the
#: modules of this package and monitor.store.hourly add theirs; importing monitor.store.models registers the former.
METADATA = sa.MetaData(naming_convention=NAMING)


class StoreModel:
    """The store's tables' metadata: ``StoreModel.metadata``."""

    metadata: ClassVar[sa.MetaData] = METADATA
