"""Keyvault's schema migrations (Alembic, run by servicekit's runner) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, DateTime, LargeBinary, insert, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from tollgate_keyvault import migrations
from tollgate_keyvault.adapters.db import SqlCredentialStore
from tollgate_keyvault.domain.credential import Status
from tollgate_servicekit.migrations import VERSION_TABLE, alembic_config, context_options
from tollgate_servicekit.sql import Database

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
HEAD = ScriptDirectory.from_config(alembic_config(migrations.SCRIPT_LOCATION)).get_current_head()
REGENERATE = "run `make keyvault-migration KEYVAULT_REV=<next> KEYVAULT_MSG=...`, review the script, commit it"


# --- keyvault's table exactly as commit 3c50da0 declared it (before migrations), in a registry of its own --------


class LegacyTable(SQLModel, registry=registry()):
    pass


class LegacyCredential(LegacyTable, table=True):
    __tablename__ = "credentials"

    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=128)
    provider: str = Field(max_length=64)
    api_style: str = Field(max_length=16)
    base_url: str = Field(max_length=2048)
    last4: str = Field(max_length=4)
    status: str = Field(max_length=16)
    version: int
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    nonce: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    wrapped_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    kek_id: str = Field(max_length=64)


# --- helpers ---------------------------------------------------------------------------------------------------


async def differences(db: Database) -> list[object]:
    """What Alembic's autogenerate would still write: the models against the database."""

    def compare(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts=context_options(conn))
        return list(compare_metadata(context, migrations.metadata()))

    async with db.engine.connect() as conn:
        return await conn.run_sync(compare)


async def revision_of(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def tables_of(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        if db.is_postgres:
            query = text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s")
            return {r[0] for r in await conn.execute(query, {"s": db.schema})}
        return {r[0] for r in await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}


def legacy_rows() -> Iterator[dict[str, Any]]:
    for n, status in enumerate(("active", "deleted")):
        yield {
            "id": f"crd_{n}",
            "tenant_id": "tnt_1",
            "provider": "openai",
            "api_style": "openai",
            "base_url": "https://api.openai.com/v1",
            "last4": "4321",
            "status": status,
            "version": n + 1,
            "created_at": NOW,
            "updated_at": NOW,
            "ciphertext": b"\x01" * 32 if status == "active" else b"",
            "nonce": b"\x02" * 12 if status == "active" else b"",
            "wrapped_key": b"\x03" * 60 if status == "active" else b"",
            "kek_id": "kek_1",
        }


# --- tests -------------------------------------------------------------------------------------------------------


async def test_upgrading_an_empty_database_makes_exactly_the_models_tables(database: Any) -> None:
    db = Database(database.url, database.schema)
    try:
        await migrations.upgrade(db)
        diff = await differences(db)
        assert not diff, f"keyvault's tables changed without a migration: {REGENERATE}. Differences: {diff}"
        assert await revision_of(db) == HEAD
        assert await tables_of(db) == {*migrations.metadata().tables, VERSION_TABLE}
        await migrations.upgrade(db)  # at head: nothing to do
        assert await revision_of(db) == HEAD
    finally:
        await db.dispose()


async def test_a_database_made_before_migrations_is_stamped_upgraded_and_keeps_its_rows(database: Any) -> None:
    db = Database(database.url, database.schema)
    try:
        await db.create_all(LegacyTable.metadata)  # what keyvault's start-up did before migrations
        async with db.engine.begin() as conn:
            await conn.execute(insert(LegacyTable.metadata.tables["credentials"]), list(legacy_rows()))
        assert VERSION_TABLE not in await tables_of(db)

        store = SqlCredentialStore(db)
        await store.migrate()  # keyvault's start-up step
        assert await revision_of(db) == HEAD
        assert not await differences(db), REGENERATE
        kept = await store.list("tnt_1")
        assert [(c.id, c.status, c.version, c.created_at) for c in kept] == [
            ("crd_0", Status.ACTIVE, 1, NOW),
            ("crd_1", Status.DELETED, 2, NOW),
        ]
        assert kept[0].envelope.ciphertext == b"\x01" * 32 and kept[1].envelope.ciphertext == b""
    finally:
        await db.dispose()


async def test_a_database_made_by_create_all_of_todays_tables_is_stamped_at_head(database: Any) -> None:
    db = Database(database.url, database.schema)
    try:
        await db.create_all(migrations.metadata())
        await migrations.upgrade(db)
        assert await revision_of(db) == HEAD
        assert not await differences(db), REGENERATE
    finally:
        await db.dispose()


async def test_replicas_upgrading_at_once_migrate_once(database: Any) -> None:
    replicas = [Database(database.url, database.schema) for _ in range(3)]
    try:
        await asyncio.gather(*(migrations.upgrade(db) for db in replicas))
        assert await revision_of(replicas[0]) == HEAD
        assert not await differences(replicas[0]), REGENERATE
    finally:
        for db in replicas:
            await db.dispose()


async def test_replicas_upgrading_a_database_made_before_migrations_at_once(database: Any) -> None:
    legacy = Database(database.url, database.schema)
    try:
        await legacy.create_all(LegacyTable.metadata)
        async with legacy.engine.begin() as conn:
            await conn.execute(insert(LegacyTable.metadata.tables["credentials"]), list(legacy_rows()))
    finally:
        await legacy.dispose()
    replicas = [Database(database.url, database.schema) for _ in range(3)]
    try:
        await asyncio.gather(*(migrations.upgrade(db) for db in replicas))
        assert await revision_of(replicas[0]) == HEAD
        assert len(await SqlCredentialStore(replicas[0]).list()) == 2
    finally:
        for db in replicas:
            await db.dispose()
