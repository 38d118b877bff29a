"""Keyvault's schema migrations (Alembic, run by servicekit's runner) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, LargeBinary, insert
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from tollgate_keyvault import migrations
from tollgate_keyvault.adapters.db import SqlCredentialStore
from tollgate_keyvault.domain.credential import Status
from tollgate_servicekit.migrations import VERSION_TABLE
from tollgate_servicekit.migrations_testing import MigrationsKit, revision_of, tables_of
from tollgate_servicekit.sql import Database

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
REGENERATE = "run `make keyvault-migration KEYVAULT_REV=<next> KEYVAULT_MSG=...`, review the script, commit it"

KIT = MigrationsKit("keyvault", migrations.SCRIPT_LOCATION, migrations.metadata, migrations.upgrade, REGENERATE)

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
    await KIT.check_empty_database(database.url, database.schema)


async def test_a_database_made_before_migrations_is_stamped_upgraded_and_keeps_its_rows(database: Any) -> None:
    db = Database(database.url, database.schema)
    try:
        await db.create_all(LegacyTable.metadata)  # what keyvault's start-up did before migrations
        async with db.engine.begin() as conn:
            await conn.execute(insert(LegacyTable.metadata.tables["credentials"]), list(legacy_rows()))
        assert VERSION_TABLE not in await tables_of(db)

        store = SqlCredentialStore(db)
        await store.migrate()  # keyvault's start-up step
        await KIT.assert_at_head(db)
        kept = await store.list("tnt_1")
        assert [(c.id, c.status, c.version, c.created_at) for c in kept] == [
            ("crd_0", Status.ACTIVE, 1, NOW),
            ("crd_1", Status.DELETED, 2, NOW),
        ]
        assert kept[0].envelope.ciphertext == b"\x01" * 32 and kept[1].envelope.ciphertext == b""
    finally:
        await db.dispose()


async def test_a_database_made_by_create_all_of_todays_tables_is_stamped_at_head(database: Any) -> None:
    await KIT.check_create_all_is_stamped_at_head(database.url, database.schema)


async def test_replicas_upgrading_at_once_migrate_once(database: Any) -> None:
    await KIT.check_replicas_at_once(database.url, database.schema)


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
        assert await revision_of(replicas[0]) == KIT.head
        assert len(await SqlCredentialStore(replicas[0]).list()) == 2
    finally:
        for db in replicas:
            await db.dispose()
