"""`UtcDateTime`: an aware time goes in and comes back aware UTC, the same instant, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from tollgate_servicekit.sql import Database
from tollgate_servicekit.sqltypes import UtcDateTime


class _Table(SQLModel, registry=registry()):
    pass


class Stamp(_Table, table=True):
    __tablename__ = "stamps"

    id: str = Field(primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    until: datetime | None = Field(default=None, sa_type=UtcDateTime)


async def round_trip(db: Database) -> None:
    await db.create_all(_Table.metadata)
    at = datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=timezone(timedelta(hours=2)))
    async with db.session() as session:
        session.add(Stamp(id="s1", at=at))
        await session.commit()
    async with db.session() as session:
        stored = await session.get(Stamp, "s1")
    assert stored is not None
    assert stored.at == at and stored.at.tzinfo is UTC and stored.at.hour == 10
    assert stored.until is None
    with pytest.raises(StatementError, match="naive datetime refused"):
        async with db.session() as session:
            session.add(Stamp(id="s2", at=datetime(2026, 3, 1)))  # noqa: DTZ001 - the naive value under test
            await session.commit()


async def test_sqlite_stores_utc_wall_time_and_gives_back_aware_utc(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        await round_trip(db)
        async with db.engine.connect() as conn:
            raw = (await conn.execute(text("SELECT at FROM stamps"))).scalar_one()
        assert raw.startswith("2026-03-01 10:30:15.25")  # UTC, no offset: SQLite keeps none
    finally:
        await db.dispose()


async def test_postgresql_keeps_the_instant_in_timestamptz(pg_url: str) -> None:
    schema = f"t_sqltypes_{secrets.token_hex(4)}"
    db = Database(pg_url, schema)
    try:
        await round_trip(db)
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await db.dispose()
