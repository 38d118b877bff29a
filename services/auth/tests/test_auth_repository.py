"""The SQL store, on SQLite and on PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tollgate_auth.adapters.db import SqlStore
from tollgate_auth.adapters.signing import Ed25519Signer
from tollgate_auth.domain import GrantRequest, new_api_key, new_grant, new_tenant, revoke, revoke_api_key
from tollgate_auth.domain.errors import ApiKeyNotFound, GrantNotFound, TenantExists
from tollgate_auth.migrations import metadata as auth_metadata
from tollgate_auth.testing import random_keyring
from tollgate_contracts import ApiKeyStatus, Capability, GrantStatus
from tollgate_servicekit.migrations import VERSION_TABLE

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


KEYRING = random_keyring()


@pytest.fixture
async def store(database) -> AsyncIterator[SqlStore]:
    opened = await SqlStore.open(database.url, database.schema, keyring=KEYRING)
    yield opened
    await opened.close()


def a_grant(grant_id: str = "grt_1", tenant_id: str = "tnt_1", **fields):
    request = GrantRequest(**{"provider": "openai", "models": ["gpt-4o-mini", "gpt-4o*"], **fields})
    return new_grant(request, grant_id=grant_id, tenant_id=tenant_id, now=NOW)


async def test_tenants_round_trip_and_names_are_unique(store):
    await store.add_tenant(new_tenant("acme", tenant_id="tnt_1", now=NOW))
    assert await store.get_tenant("tnt_1") == new_tenant("acme", tenant_id="tnt_1", now=NOW)
    assert (await store.tenant_by_name("acme")).id == "tnt_1"
    assert await store.get_tenant("tnt_missing") is None
    with pytest.raises(TenantExists):
        await store.add_tenant(new_tenant("acme", tenant_id="tnt_2", now=NOW))
    assert [t.id for t in await store.list_tenants()] == ["tnt_1"]


async def test_a_grant_reads_back_exactly_as_written(store):
    await store.add_tenant(new_tenant("acme", tenant_id="tnt_1", now=NOW))
    grant = a_grant(
        app_name="notes",
        capabilities=["chat", "embeddings"],
        budget_usd="999999999.999999",
        max_requests=10,
        rpm=60,
        tpm=10_000,
        expires_in_seconds=3600,
    )
    await store.add_grant(grant)
    loaded = await store.get_grant("grt_1")
    assert loaded == grant
    assert loaded.capabilities == (Capability.CHAT, Capability.EMBEDDINGS)
    assert loaded.created_at.tzinfo is not None
    assert loaded.expires_at == NOW + timedelta(hours=1)


async def test_grants_list_oldest_first_and_filter_by_tenant(store):
    for tenant in ("tnt_1", "tnt_2"):
        await store.add_tenant(new_tenant(tenant, tenant_id=tenant, now=NOW))
    await store.add_grant(a_grant("grt_b", "tnt_1"))
    await store.add_grant(a_grant("grt_a", "tnt_2"))
    await store.add_grant(a_grant("grt_c", "tnt_1"))
    assert [g.id for g in await store.list_grants()] == ["grt_a", "grt_b", "grt_c"]
    assert [g.id for g in await store.list_grants("tnt_1")] == ["grt_b", "grt_c"]


async def test_update_applies_a_change_once_and_reports_no_change(store):
    await store.add_tenant(new_tenant("acme", tenant_id="tnt_1", now=NOW))
    await store.add_grant(a_grant())
    revoked, changed = await store.update_grant("grt_1", lambda g: revoke(g, NOW))
    assert changed
    assert (revoked.status, revoked.version) == (GrantStatus.REVOKED, 2)
    assert await store.get_grant("grt_1") == revoked
    again, changed = await store.update_grant("grt_1", lambda g: revoke(g, NOW))
    assert not changed
    assert again == revoked


async def test_concurrent_updates_each_see_the_previous_version(store):
    await store.add_tenant(new_tenant("acme", tenant_id="tnt_1", now=NOW))
    await store.add_grant(a_grant())

    def bump(grant):
        return type(grant)(**{**grant.__dict__, "version": grant.version + 1, "rpm": grant.version})

    results = await asyncio.gather(*(store.update_grant("grt_1", bump) for _ in range(5)))
    assert sorted(g.version for g, _ in results) == [2, 3, 4, 5, 6]
    assert (await store.get_grant("grt_1")).version == 6


async def test_updating_a_missing_grant_or_key_says_not_found(store):
    with pytest.raises(GrantNotFound):
        await store.update_grant("grt_missing", lambda g: g)
    with pytest.raises(ApiKeyNotFound):
        await store.update_api_key("key_missing", lambda k: k)


async def test_api_keys_round_trip_list_by_grant_and_revoke(store):
    await store.add_tenant(new_tenant("acme", tenant_id="tnt_1", now=NOW))
    grant = a_grant()
    await store.add_grant(grant)
    first = new_api_key(grant, "tg_" + "a" * 43, key_id="key_1", now=NOW)
    second = new_api_key(grant, "tg_" + "b" * 43, key_id="key_2", now=NOW + timedelta(seconds=1))
    await store.add_api_key(first)
    await store.add_api_key(second)
    assert await store.get_api_key("key_1") == first
    assert [k.id for k in await store.list_api_keys("grt_1")] == ["key_1", "key_2"]
    assert await store.list_api_keys("grt_other") == []
    revoked, changed = await store.update_api_key("key_1", lambda k: revoke_api_key(k, NOW))
    assert changed
    assert (await store.get_api_key("key_1")).status is ApiKeyStatus.REVOKED
    assert revoked.version == 2


async def test_signing_keys_keep_their_private_half(store):
    key = Ed25519Signer().generate(NOW)
    await store.add_signing_key(key)
    [loaded] = await store.list_signing_keys()
    assert loaded == key
    token = Ed25519Signer().sign({"sub": "x"}, loaded)
    assert token.count(".") == 2


async def test_opening_twice_keeps_the_data(database):
    first = await SqlStore.open(database.url, database.schema, keyring=KEYRING)
    await first.add_tenant(new_tenant("acme", tenant_id="tnt_1", now=NOW))
    await first.close()
    second = await SqlStore.open(database.url, database.schema, keyring=KEYRING)
    try:
        assert [t.name for t in await second.list_tenants()] == ["acme"]
    finally:
        await second.close()


async def test_postgres_tables_live_in_the_configured_schema(pg_database):
    store = await SqlStore.open(pg_database.url, pg_database.schema, keyring=KEYRING)
    try:
        async with store.database.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s ORDER BY 1"),
                {"s": pg_database.schema},
            )
            # Every auth table (the OAuth and account ones too) and the migrations' version table, no other service's.
            assert [r[0] for r in rows] == sorted([*auth_metadata().tables, VERSION_TABLE])
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "schema"),
    [
        ("sqlite+aiosqlite://", "auth"),
        ("sqlite+aiosqlite:///:memory:", "auth"),
        ("mysql://x/y", "auth"),
        ("postgresql+asyncpg://localhost/x", 'auth"; DROP'),
    ],
)
async def test_unworkable_database_settings_are_refused_before_any_connection(url, schema):
    with pytest.raises(ValueError):
        await SqlStore.open(url, schema, keyring=KEYRING)
