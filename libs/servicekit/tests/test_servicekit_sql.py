"""`Database` on a real SQLite file and a real PostgreSQL: settings checks, file modes, WAL, schemas, errors."""

from __future__ import annotations

import asyncio
import secrets
import socket
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from tollgate_servicekit.errors import StoreUnavailable
from tollgate_servicekit.sql import Database, check_database_settings, translate_errors


class _Table(SQLModel, registry=registry()):
    pass


class Thing(_Table, table=True):
    __tablename__ = "things"

    id: str = Field(primary_key=True)
    note: str


@pytest.mark.parametrize(
    ("url", "schema", "message"),
    [
        ("sqlite+aiosqlite://", None, "must be a file"),
        ("sqlite+aiosqlite:///:memory:", None, "must be a file"),
        ("sqlite:///x.db", None, "unsupported SQLite driver"),
        ("mysql+aiomysql://u:hunter2@db/x", None, "unsupported database URL 'mysql\\+aiomysql://\\*\\*\\*@db/x'"),
        ("postgresql+psycopg://db/x", None, "unsupported database URL"),
        ("postgresql+asyncpg://db/x", 'auth"; DROP SCHEMA public; --', "not a plain schema name"),
        ("postgresql+asyncpg://db/x", "1abc", "not a plain schema name"),
        ("postgresql+asyncpg://db/x", "a" * 64, "not a plain schema name"),
        ("postgresql+asyncpg://db/x", "pg_mine", "reserved"),
    ],
)
def test_configurations_that_can_never_work_are_refused_clearly(url: str, schema: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_database_settings(url, schema)
    with pytest.raises(ValueError, match=message):
        Database(url, schema)


def test_good_settings_pass() -> None:
    check_database_settings("sqlite+aiosqlite:///var/lib/x.db", "ignored_on_sqlite")
    check_database_settings("postgresql+asyncpg://u:p@db:5432/x", "tollgate_auth")
    check_database_settings("postgresql+asyncpg://db/x")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_file_is_private_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "state" / "auth.db"
    db = Database(f"sqlite+aiosqlite:///{path}", "auth")
    try:
        await db.create_all(_Table.metadata)
        async with db.session() as session:
            session.add(Thing(id="t1", note="secret material"))
            await session.commit()
            mode = (await session.exec(text("PRAGMA journal_mode"))).one()[0]  # type: ignore[call-overload]
            fks = (await session.exec(text("PRAGMA foreign_keys"))).one()[0]  # type: ignore[call-overload]
            busy = (await session.exec(text("PRAGMA busy_timeout"))).one()[0]  # type: ignore[call-overload]
        assert (mode, fks, busy) == ("wal", 1, 30_000)
        assert _mode(path) == 0o600
        assert _mode(path.parent) == 0o700
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            assert side.exists() and _mode(side) == 0o600, suffix
        await db.ping()
    finally:
        await db.dispose()


async def test_an_existing_open_sqlite_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.create_all(_Table.metadata)
        assert _mode(path) == 0o600
    finally:
        await db.dispose()


async def test_sessions_keep_attributes_after_commit_and_integrity_errors_pass_through(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        await db.create_all(_Table.metadata)
        async with db.session() as session:
            thing = Thing(id="t1", note="n")
            session.add(thing)
            await session.commit()
        assert thing.note == "n"  # expire_on_commit=False
        with pytest.raises(IntegrityError):
            async with db.session() as session:
                session.add(Thing(id="t1", note="again"))
                await session.commit()
    finally:
        await db.dispose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.integration
async def test_unreachable_postgresql_is_store_unavailable_without_credentials() -> None:
    url = f"postgresql+asyncpg://tollgate:hunter2-pw@127.0.0.1:{_closed_port()}/test"
    db = Database(url, "svc")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await db.create_all(_Table.metadata)
        assert "hunter2" not in caught.value.message
        with pytest.raises(StoreUnavailable):
            await db.ping()
        with pytest.raises(StoreUnavailable):
            async with db.session() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        assert db.display_url == f"postgresql+asyncpg://***@127.0.0.1:{url.rsplit(':', 1)[1]}"
    finally:
        await db.dispose()


async def test_postgresql_tables_live_in_the_service_schema(pg_url: str) -> None:
    schema = f"t_servicekit_{secrets.token_hex(4)}"
    databases = [Database(pg_url, schema) for _ in range(3)]
    try:
        # Three replicas starting at once: the advisory lock keeps CREATE SCHEMA/TABLE from colliding.
        await asyncio.gather(*(db.create_all(_Table.metadata) for db in databases))
        db = databases[0]
        async with db.session() as session:
            session.add(Thing(id="t1", note="n"))
            await session.commit()
            # Hand-written SQL finds the table too (search_path).
            count = (await session.exec(text("SELECT count(*) FROM things"))).one()[0]  # type: ignore[call-overload]
            where = (
                await session.exec(text("SELECT table_schema FROM information_schema.tables WHERE table_name='things'"))  # type: ignore[call-overload]
            ).all()
        assert count == 1
        assert [row[0] for row in where] == [schema]
        await db.ping()
    finally:
        async with databases[0].engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        for db in databases:
            await db.dispose()


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["08006", "53300", "57P01", "57P03"])
async def test_connection_class_sqlstates_are_store_unavailable(sqlstate: str) -> None:
    with pytest.raises(StoreUnavailable, match="DBAPIError"):
        async with translate_errors():
            raise DBAPIError("SELECT 1", None, _Orig(sqlstate))


@pytest.mark.parametrize("sqlstate", ["22P05", "23505", "42P01"])
async def test_data_and_programming_errors_pass_through(sqlstate: str) -> None:
    with pytest.raises(DBAPIError):
        async with translate_errors():
            raise DBAPIError("SELECT 1", None, _Orig(sqlstate))
