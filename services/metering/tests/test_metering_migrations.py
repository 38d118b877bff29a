"""Metering's schema migrations (Alembic, run by servicekit's runner) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, insert, select
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from tollgate_metering import migrations
from tollgate_metering.adapters.db import LEDGER, SqlStore, prepare
from tollgate_metering.domain.budget import Limits
from tollgate_metering.domain.pricing import Price, PriceRule
from tollgate_metering.domain.usage import LedgerEntry
from tollgate_servicekit.migrations import VERSION_TABLE
from tollgate_servicekit.migrations_testing import MigrationsKit, tables_of
from tollgate_servicekit.sql import Database

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REGENERATE = (
    "run `make metering-migration` (regenerates 0002 while unreleased) or "
    "`make metering-migration METERING_REV=0003 METERING_MSG=...`, review the script, commit it"
)

KIT = MigrationsKit("metering", migrations.SCRIPT_LOCATION, migrations.metadata, migrations.upgrade, REGENERATE)

# --- metering's tables exactly as commit 3c50da0 declared them (before migrations and before `unknown_grant`) ----


class LegacyModel(SQLModel, registry=registry()):
    pass


class LegacyUsage(LegacyModel, table=True):
    __tablename__ = "usage_ledger"

    request_id: str = Field(primary_key=True)
    event_id: str
    grant_id: str = Field(index=True)
    tenant_id: str
    provider: str
    model: str
    capability: str
    input_tokens: int = Field(sa_type=BigInteger)
    output_tokens: int = Field(sa_type=BigInteger)
    cost_micro_usd: int = Field(sa_type=BigInteger)
    estimated: bool
    streamed: bool
    status_code: int
    started_at: datetime = Field(sa_type=DateTime(timezone=True))
    duration_ms: int = Field(sa_type=BigInteger)
    recorded_at: datetime = Field(sa_type=DateTime(timezone=True))


class LegacyAccount(LegacyModel, table=True):
    __tablename__ = "grant_account"

    grant_id: str = Field(primary_key=True)
    tenant_id: str | None = None
    budget_micro_usd: int | None = Field(default=None, sa_type=BigInteger)
    max_requests: int | None = Field(default=None, sa_type=BigInteger)
    grant_version: int = Field(default=0, sa_type=BigInteger)
    requests: int = Field(default=0, sa_type=BigInteger)
    input_tokens: int = Field(default=0, sa_type=BigInteger)
    output_tokens: int = Field(default=0, sa_type=BigInteger)
    cost_micro_usd: int = Field(default=0, sa_type=BigInteger)
    version: int = Field(default=0, sa_type=BigInteger)


class LegacyPrice(LegacyModel, table=True):
    __tablename__ = "price"

    provider: str = Field(primary_key=True)
    model: str = Field(primary_key=True)
    input_micro_usd_per_mtok: int = Field(sa_type=BigInteger)
    output_micro_usd_per_mtok: int = Field(sa_type=BigInteger)
    version: int = Field(default=1, sa_type=BigInteger)


# --- helpers ---------------------------------------------------------------------------------------------------


def entry(grant_id: str, request_id: str) -> LedgerEntry:
    return LedgerEntry(
        request_id=request_id,
        event_id=f"evt_{request_id}",
        grant_id=grant_id,
        tenant_id="tnt_1",
        provider="openai",
        model="gpt-4o-mini",
        capability="chat",
        input_tokens=10,
        output_tokens=20,
        cost_micro_usd=7,
        estimated=False,
        streamed=True,
        status_code=200,
        started_at=NOW,
        duration_ms=5,
        recorded_at=NOW,
    )


async def make_legacy(url: str, schema: str | None) -> None:
    """A database as metering 3c50da0 left it: its `create_all`, a counted request, an account, a price."""
    db = Database(url, schema)
    tables = LegacyModel.metadata.tables
    old = entry("grt_old", "req_old")
    try:
        await db.create_all(LegacyModel.metadata)
        async with db.engine.begin() as conn:
            values = {c.name: getattr(old, c.name) for c in tables["usage_ledger"].columns}
            await conn.execute(insert(tables["usage_ledger"]).values(**values))
            await conn.execute(
                insert(tables["grant_account"]).values(
                    grant_id="grt_old",
                    tenant_id="tnt_1",
                    budget_micro_usd=1000,
                    grant_version=3,
                    requests=1,
                    input_tokens=10,
                    output_tokens=20,
                    cost_micro_usd=7,
                    version=4,
                )
            )
            await conn.execute(
                insert(tables["price"]).values(
                    provider="openai",
                    model="gpt-4o-mini",
                    input_micro_usd_per_mtok=150,
                    output_micro_usd_per_mtok=600,
                    version=2,
                )
            )
    finally:
        await db.dispose()


# --- tests -------------------------------------------------------------------------------------------------------


async def test_upgrading_an_empty_database_makes_exactly_the_models_tables(database: Any) -> None:
    await KIT.check_empty_database(database.url, database.schema)


async def test_a_database_made_before_migrations_is_stamped_upgraded_and_keeps_its_rows(database: Any) -> None:
    await make_legacy(database.url, database.schema)
    db = Database(database.url, database.schema)
    try:
        assert VERSION_TABLE not in await tables_of(db)
        await prepare(db)  # metering's start-up step
        await KIT.assert_at_head(db)
        store = SqlStore(db)
        account = await store.account("grt_old")
        assert account is not None and account.grant_known
        assert (account.totals.requests, account.totals.cost_micro_usd, account.limits.budget_micro_usd) == (1, 7, 1000)
        # The same price synced again keeps its version: the row survived as it was.
        [price] = await store.sync_prices([PriceRule("openai", "gpt-4o-mini", Price(150, 600))])
        assert price.version == 2
        # The old row was counted knowing its grant (0002's server default); a redelivery still counts nothing.
        assert not await store.record(entry("grt_old", "req_old"))
        await store.apply_limits("grt_new", "tnt_1", Limits(), 1)
        assert await store.record(entry("grt_new", "req_new"))
        assert await store.record(entry("grt_ghost", "req_ghost"))
        async with db.engine.connect() as conn:
            rows = await conn.execute(select(LEDGER.c.request_id, LEDGER.c.unknown_grant))
            flags = {request_id: flag for request_id, flag in rows}
        assert flags == {"req_old": False, "req_new": False, "req_ghost": True}
    finally:
        await db.dispose()


async def test_a_database_made_by_create_all_of_todays_tables_is_stamped_at_head(database: Any) -> None:
    """A development `.tollgate/` from just before migrations (it had the add-column step): nothing made again."""
    await KIT.check_create_all_is_stamped_at_head(database.url, database.schema)


async def test_replicas_upgrading_at_once_migrate_once(database: Any) -> None:
    await KIT.check_replicas_at_once(database.url, database.schema)


async def test_replicas_upgrading_a_database_made_before_migrations_at_once(database: Any) -> None:
    await make_legacy(database.url, database.schema)
    replicas = [Database(database.url, database.schema) for _ in range(3)]
    try:
        await asyncio.gather(*(prepare(db) for db in replicas))
        await KIT.assert_at_head(replicas[0])
        account = await SqlStore(replicas[0]).account("grt_old")
        assert account is not None and account.totals.requests == 1
    finally:
        for db in replicas:
            await db.dispose()
