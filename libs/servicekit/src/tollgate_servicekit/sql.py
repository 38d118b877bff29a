"""`Database`: an async SQLAlchemy engine on PostgreSQL (asyncpg, in a schema of its own) or SQLite (aiosqlite,
a file), with driver failures translated into `StoreUnavailable`.

PostgreSQL: tables declared without a schema are mapped into `schema` (`schema_translate_map`, and the
connection's `search_path` for hand-written SQL); `create_all` creates the schema and tables under an advisory
lock, so replicas starting together do not race on `CREATE SCHEMA`/`CREATE TABLE`.

SQLite: a file, never `:memory:` (one shared connection corrupts under concurrent sessions); WAL (readers beside
the writer), a 30 s busy timeout, foreign keys on. The stack keeps secrets in these files, so the database and its
`-wal`/`-shm` files are mode 0600 and a directory we create is 0700.

Translated (transient, retry later) → `StoreUnavailable`: lost or refused connections, pool timeouts, OSError,
TimeoutError, and PostgreSQL SQLSTATE classes 08 (connection), 53 (resources), 57P (shutdown). Everything else —
an IntegrityError, a DataError — passes through for the service to map.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from tollgate_servicekit.errors import StoreUnavailable
from tollgate_servicekit.redaction import redact_url
from tollgate_servicekit.secretfiles import ensure_private_dir

__all__ = ["Database", "StoreUnavailable", "check_database_settings", "sqlite_path", "translate_errors"]

logger = logging.getLogger(__name__)

POSTGRES_PREFIX = "postgresql+asyncpg://"
SQLITE_PREFIX = "sqlite+aiosqlite:///"
SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
BUSY_TIMEOUT_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 10
_TRANSIENT_SQLSTATE = ("08", "53", "57P")


def check_database_settings(url: str, schema: str | None = None) -> None:
    """Raise `ValueError` for a configuration that can never work (before any connection is tried)."""
    if url.startswith("sqlite"):
        if url.rstrip("/") == SQLITE_PREFIX.rstrip("/"):
            raise ValueError("SQLite must be a file: an in-memory database corrupts under concurrent sessions")
        if not url.startswith(SQLITE_PREFIX):
            raise ValueError(f"unsupported SQLite driver in {redact_url(url)!r}: use {SQLITE_PREFIX}<file>")
        if sqlite_path(url) is None:
            raise ValueError("SQLite must be a file: an in-memory database corrupts under concurrent sessions")
    elif not url.startswith(POSTGRES_PREFIX):
        raise ValueError(
            f"unsupported database URL {redact_url(url)!r}: use {SQLITE_PREFIX}<file> or {POSTGRES_PREFIX}…"
        )
    if schema is not None:
        if not SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"not a plain schema name (letters, digits, _; at most 63): {schema[:64]!r}")
        if schema.lower().startswith("pg_"):
            raise ValueError(f"schema names starting with pg_ are reserved by PostgreSQL: {schema!r}")


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite+aiosqlite:///` URL, or None for an in-memory database."""
    raw = url[len(SQLITE_PREFIX) :].split("?", 1)[0]
    if not raw or raw == ":memory:" or raw.startswith("file::memory:"):
        return None
    return Path(raw)


def _transient(exc: sa_exc.DBAPIError) -> bool:
    if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATE)


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Turn driver, pool and connection failures raised in the block into `StoreUnavailable`."""
    try:
        yield
    except sa_exc.DBAPIError as exc:
        if not _transient(exc):
            raise
        raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc
    except (sa_exc.TimeoutError, sa_exc.DisconnectionError, OSError, TimeoutError) as exc:
        raise StoreUnavailable(f"database unavailable: {type(exc).__name__}") from exc


class Database:
    """The engine of one service's database; `dispose()` when done. Opens no connection until first used."""

    def __init__(self, url: str, schema: str | None = None, *, echo: bool = False) -> None:
        check_database_settings(url, schema)
        self.url = url
        self.is_postgres = url.startswith(POSTGRES_PREFIX)
        self.schema = schema if self.is_postgres else None
        self.path = None if self.is_postgres else sqlite_path(url)
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
        if self.is_postgres:
            connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_SECONDS}
            if self.schema:
                options["execution_options"] = {"schema_translate_map": {None: self.schema}}
                connect_args["server_settings"] = {"search_path": f'"{self.schema}"'}
            options["connect_args"] = connect_args
        else:
            options["connect_args"] = {"timeout": BUSY_TIMEOUT_SECONDS}
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if self.path is not None:
            self._prepare_file(self.path)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    @property
    def display_url(self) -> str:
        """The URL without credentials."""
        return redact_url(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """An `AsyncSession` (attributes stay readable after commit); driver failures → `StoreUnavailable`."""
        async with translate_errors(), AsyncSession(self.engine, expire_on_commit=False) as session:
            yield session

    async def create_all(self, metadata: MetaData) -> None:
        """Create the schema (PostgreSQL) and the tables of `metadata`, if missing. Safe from every replica."""
        async with translate_errors(), self.engine.begin() as conn:
            if self.schema:
                # One creator at a time: concurrent CREATE SCHEMA / CREATE TABLE IF NOT EXISTS can still collide.
                await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"ddl:{self.schema}"})
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await conn.run_sync(metadata.create_all)
        if self.path is not None:
            self._tighten(self.path)

    async def ping(self, timeout: float = 2.0) -> None:  # noqa: ASYNC109 - a bound on the probe, part of the API
        """Return when the database answers `SELECT 1` within `timeout`, else raise `StoreUnavailable`."""
        try:
            async with asyncio.timeout(timeout), translate_errors(), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except TimeoutError as exc:
            raise StoreUnavailable(f"database did not answer within {timeout:g}s") from exc

    async def dispose(self) -> None:
        await self.engine.dispose()

    @staticmethod
    def _prepare_file(path: Path) -> None:
        directory = path.parent if str(path.parent) else Path(".")
        if not directory.exists():
            ensure_private_dir(directory)
        elif stat.S_IMODE(directory.stat().st_mode) & 0o007:
            logger.warning("the database directory %s is open to all users; chmod 700 it", directory)
        # Created by us with 0600 before SQLite sees it: SQLite gives -wal/-shm the main file's mode.
        with suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        Database._tighten(path)

    @staticmethod
    def _tighten(path: Path) -> None:
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            try:
                if stat.S_IMODE(file.stat().st_mode) & 0o077:
                    file.chmod(0o600)
            except FileNotFoundError:
                continue


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
