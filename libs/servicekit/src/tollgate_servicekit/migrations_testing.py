"""The checks every service's migration tests make, on its own scripts and models (SQLite and PostgreSQL alike).

Each service keeps, in its own test module, what is its own: the tables as they were before migrations (frozen
shapes, never imported from today's models) and the rows they must keep. What is the same for all lives here:

    KIT = MigrationsKit("auth", migrations.SCRIPT_LOCATION, migrations.metadata, migrations.upgrade, REGENERATE)

    async def test_upgrading_an_empty_database_makes_exactly_the_models_tables(database):
        await KIT.check_empty_database(database.url, database.schema)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, text

from tollgate_servicekit.migrations import VERSION_TABLE, alembic_config, context_options
from tollgate_servicekit.sql import Database

__all__ = ["MigrationsKit", "revision_of", "tables_of"]


async def revision_of(db: Database) -> str | None:
    """The revision the database's version table names (None: not stamped)."""
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def tables_of(db: Database) -> set[str]:
    """The tables in the database (in its schema, on PostgreSQL)."""
    async with db.engine.connect() as conn:
        if db.is_postgres:
            query = text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s")
            return {r[0] for r in await conn.execute(query, {"s": db.schema})}
        return {r[0] for r in await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}


@dataclass(frozen=True)
class MigrationsKit:
    """One service's migrations under test: `regenerate` tells the reader how to write the missing migration."""

    service: str
    script_location: str
    metadata: Callable[[], MetaData]
    upgrade: Callable[[Database], Awaitable[None]]
    regenerate: str

    @property
    def head(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(self.script_location)).get_current_head()

    async def differences(self, db: Database) -> list[object]:
        """What Alembic's autogenerate would still write: the models against the database."""

        def compare(conn: Connection) -> list[object]:
            context = MigrationContext.configure(conn, opts=context_options(conn))
            return list(compare_metadata(context, self.metadata()))

        async with db.engine.connect() as conn:
            return await conn.run_sync(compare)

    async def assert_at_head(self, db: Database) -> None:
        """At the newest revision, and the models have nothing more to migrate."""
        assert await revision_of(db) == self.head
        diff = await self.differences(db)
        assert not diff, f"{self.service}'s tables changed without a migration: {self.regenerate}. Differences: {diff}"

    async def check_empty_database(self, url: str, schema: str | None) -> None:
        """An empty database upgraded holds exactly the models' tables (and the version table); again is a no-op."""
        db = Database(url, schema)
        try:
            await self.upgrade(db)
            await self.assert_at_head(db)
            assert await tables_of(db) == {*self.metadata().tables, VERSION_TABLE}
            await self.upgrade(db)  # at head: nothing to do
            assert await revision_of(db) == self.head
        finally:
            await db.dispose()

    async def check_create_all_is_stamped_at_head(self, url: str, schema: str | None) -> None:
        """A database made by `create_all` of today's tables (no version table) is stamped at head, nothing made."""
        db = Database(url, schema)
        try:
            await db.create_all(self.metadata())
            await self.upgrade(db)
            await self.assert_at_head(db)
        finally:
            await db.dispose()

    async def check_replicas_at_once(self, url: str, schema: str | None, replicas: int = 3) -> None:
        """Replicas upgrading one database together: one migrates, the others find nothing to do."""
        databases = [Database(url, schema) for _ in range(replicas)]
        try:
            await asyncio.gather(*(self.upgrade(db) for db in databases))
            await self.assert_at_head(databases[0])
        finally:
            for db in databases:
                await db.dispose()
