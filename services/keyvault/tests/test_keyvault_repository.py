"""The SQL credential store on SQLite and PostgreSQL: round trips, filters, optimistic updates, no plaintext."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tollgate_keyvault.adapters.db import METADATA, SqlCredentialStore
from tollgate_keyvault.domain.credential import ApiStyle, Credential, Status
from tollgate_keyvault.domain.envelope import Keyring, decrypt, encrypt
from tollgate_keyvault.domain.errors import ConcurrentUpdate, CredentialNotFound
from tollgate_keyvault.testing import random_kek
from tollgate_servicekit.sql import Database

KEY = "sk-repo-plaintext-must-never-be-stored-4321"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(database: Any) -> AsyncIterator[Database]:
    target = Database(database.url, database.schema)
    await SqlCredentialStore(target).migrate()
    yield target
    await target.dispose()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(random_kek())


def _credential(keyring: Keyring, credential_id: str, tenant_id: str = "tnt_1", minutes: int = 0) -> Credential:
    when = T0 + timedelta(minutes=minutes)
    return Credential(
        id=credential_id,
        tenant_id=tenant_id,
        provider="openai",
        api_style=ApiStyle.OPENAI,
        base_url="https://api.openai.com",
        last4=KEY[-4:],
        status=Status.ACTIVE,
        version=1,
        created_at=when,
        updated_at=when,
        envelope=encrypt(KEY.encode(), credential_id, keyring),
    )


async def test_a_stored_credential_reads_back_equal_with_aware_times(db: Database, keyring: Keyring) -> None:
    store = SqlCredentialStore(db)
    credential = _credential(keyring, "crd_1")
    await store.add(credential)
    loaded = await store.get("crd_1")
    assert loaded == credential
    assert loaded.created_at.tzinfo is not None
    assert decrypt(loaded.envelope, "crd_1", keyring) == KEY.encode()


async def test_the_stored_row_holds_no_plaintext_key(db: Database, keyring: Keyring) -> None:
    await SqlCredentialStore(db).add(_credential(keyring, "crd_1"))
    async with db.engine.connect() as conn:
        # A Core select, so the schema translation applies (raw SQL text would not be mapped into the schema).
        rows = (await conn.execute(select(METADATA.tables["credentials"]))).mappings().all()
    [row] = rows
    assert set(row) >= {"ciphertext", "nonce", "wrapped_key", "kek_id", "last4"}
    for column, value in row.items():
        raw = value if isinstance(value, bytes | memoryview) else str(value).encode()
        assert KEY.encode() not in bytes(raw), column
        assert KEY[:-4].encode() not in bytes(raw), column


async def test_listing_is_oldest_first_and_filters_by_tenant(db: Database, keyring: Keyring) -> None:
    store = SqlCredentialStore(db)
    await store.add(_credential(keyring, "crd_b", "tnt_2", minutes=2))
    await store.add(_credential(keyring, "crd_a", "tnt_1", minutes=1))
    await store.add(_credential(keyring, "crd_c", "tnt_1", minutes=3))
    assert [c.id for c in await store.list()] == ["crd_a", "crd_b", "crd_c"]
    assert [c.id for c in await store.list("tnt_1")] == ["crd_a", "crd_c"]
    assert await store.list("tnt_none") == []


async def test_an_unknown_credential_is_not_found(db: Database) -> None:
    with pytest.raises(CredentialNotFound):
        await SqlCredentialStore(db).get("crd_missing")


async def test_replace_applies_only_over_the_expected_version(db: Database, keyring: Keyring) -> None:
    store = SqlCredentialStore(db)
    credential = _credential(keyring, "crd_1")
    await store.add(credential)
    deleted = credential.deleted(T0 + timedelta(hours=1))
    await store.replace(deleted, expected_version=1)
    loaded = await store.get("crd_1")
    assert (loaded.status, loaded.version, loaded.envelope.ciphertext) == (Status.DELETED, 2, b"")
    assert loaded.created_at == T0 and loaded.updated_at == T0 + timedelta(hours=1)
    with pytest.raises(ConcurrentUpdate):
        await store.replace(replace(deleted, version=3), expected_version=1)
    with pytest.raises(CredentialNotFound):
        await store.replace(_credential(keyring, "crd_gone"), expected_version=1)


async def test_migrating_twice_changes_nothing(db: Database) -> None:
    await SqlCredentialStore(db).migrate()
    await db.ping()
