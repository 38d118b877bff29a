"""Auth's schema migrations (Alembic, run by servicekit's runner) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, Column, String, Text, insert, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from tollgate_auth import migrations
from tollgate_auth.adapters.db import SqlStore
from tollgate_auth.adapters.rows import api_key_values, grant_values
from tollgate_auth.adapters.signing import Ed25519Signer
from tollgate_auth.domain import GrantRequest, new_api_key, new_grant, new_tenant
from tollgate_auth.testing import random_keyring
from tollgate_servicekit.migrations import VERSION_TABLE
from tollgate_servicekit.migrations_testing import MigrationsKit, tables_of
from tollgate_servicekit.sql import Database
from tollgate_servicekit.sqltypes import UtcDateTime

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
KEYRING = random_keyring()
REGENERATE = (
    "run `make auth-migration` (regenerates 0002) or "
    "`make auth-migration AUTH_REV=0003 AUTH_MSG=...`, review the script, commit it"
)
KIT = MigrationsKit("auth", migrations.SCRIPT_LOCATION, migrations.metadata, migrations.upgrade, REGENERATE)


# --- auth's tables exactly as commit f408565 declared them (before migrations), in a registry of their own -------


class LegacyTable(SQLModel, registry=registry()):
    pass


class LegacyTenant(LegacyTable, table=True):
    __tablename__ = "tenants"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(sa_column=Column(String(100), unique=True, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)


class LegacyGrant(LegacyTable, table=True):
    __tablename__ = "grants"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    app_name: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=16)
    provider: str = Field(max_length=63)
    models: list[str] = Field(sa_column=Column(JSON, nullable=False))
    capabilities: list[str] = Field(sa_column=Column(JSON, nullable=False))
    budget_micro_usd: int | None = Field(default=None, sa_type=BigInteger)
    max_requests: int | None = Field(default=None, sa_type=BigInteger)
    rpm: int | None = Field(default=None, sa_type=BigInteger)
    tpm: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    version: int = Field(sa_type=BigInteger)


class LegacyApiKey(LegacyTable, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=40)
    key_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    key_prefix: str = Field(max_length=16)
    grant_id: str = Field(foreign_key="grants.id", index=True, max_length=40)
    tenant_id: str = Field(max_length=40)
    status: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    version: int = Field(sa_type=BigInteger)


class LegacySigningKey(LegacyTable, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16)
    public_jwk: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    private_key: str = Field(sa_column=Column("private_pem", Text, nullable=False), repr=False)
    status: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    not_after: datetime | None = Field(default=None, sa_type=UtcDateTime)
    version: int = Field(sa_type=BigInteger)


# --- tests -------------------------------------------------------------------------------------------------------


async def test_upgrading_an_empty_database_makes_exactly_the_models_tables(database):
    await KIT.check_empty_database(database.url, database.schema)


async def test_a_database_made_before_migrations_is_stamped_upgraded_and_keeps_its_rows(database):
    db = Database(database.url, database.schema)
    tenant = new_tenant("acme", tenant_id="tnt_1", now=NOW)
    grant = new_grant(
        GrantRequest(provider="openai", models=["gpt-4o-mini"]), grant_id="grt_1", tenant_id="tnt_1", now=NOW
    )
    key = new_api_key(grant, "tg_" + "a" * 43, key_id="key_1", now=NOW)
    signing = Ed25519Signer().generate(NOW)
    legacy = LegacyTable.metadata.tables
    try:
        await db.create_all(LegacyTable.metadata)  # what auth's start-up did before migrations
        async with db.engine.begin() as conn:
            await conn.execute(insert(legacy["tenants"]).values(id=tenant.id, name=tenant.name, created_at=NOW))
            values = {k: v for k, v in grant_values(grant).items() if k in legacy["grants"].c}
            await conn.execute(insert(legacy["grants"]).values(**values))
            await conn.execute(insert(legacy["api_keys"]).values(**api_key_values(key)))
            await conn.execute(
                insert(legacy["signing_keys"]).values(
                    kid=signing.kid,
                    alg=signing.alg,
                    public_jwk=dict(signing.public_jwk),
                    private_pem=signing.private_pem,  # in clear, as before encryption at rest
                    status=signing.status.value,
                    created_at=NOW,
                    updated_at=NOW,
                    version=signing.version,
                )
            )
        assert VERSION_TABLE not in await tables_of(db)
    finally:
        await db.dispose()

    store = await SqlStore.open(database.url, database.schema, keyring=KEYRING)  # auth's start-up migrates
    try:
        assert [t.id for t in await store.list_tenants()] == ["tnt_1"]
        loaded = await store.get_grant("grt_1")
        assert loaded is not None
        assert (loaded.id, loaded.provider, loaded.models) == ("grt_1", "openai", grant.models)
        assert [k.id for k in await store.list_api_keys("grt_1")] == ["key_1"]
        [kept] = await store.list_signing_keys()
        assert kept.private_pem == signing.private_pem
        await KIT.assert_at_head(store.database)
        async with store.database.engine.connect() as conn:
            # A NOT NULL column added by a migration gave the old rows a value.
            period = (await conn.execute(text("SELECT budget_period FROM grants"))).scalar_one()
        assert period == "total"
    finally:
        await store.close()


async def test_a_database_made_by_create_all_of_todays_tables_is_stamped_at_head(database):
    """A development `.tollgate/` from just before migrations: every table already there, none made again."""
    await KIT.check_create_all_is_stamped_at_head(database.url, database.schema)


async def test_replicas_upgrading_at_once_migrate_once(database):
    await KIT.check_replicas_at_once(database.url, database.schema)
