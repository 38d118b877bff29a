"""The OAuth store on both databases: single use decided by the database, and dead rows forgotten."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from tollgate_auth.adapters.db import SqlStore
from tollgate_auth.adapters.oauth_store import SqlOAuthStore
from tollgate_auth.adapters.oauth_tables import AuthorizationCodeRow, PushedRequestRow
from tollgate_auth.oauth.models import AuthorizationCode
from tollgate_auth.testing import random_keyring

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def store(database) -> AsyncIterator[SqlOAuthStore]:
    sql = await SqlStore.open(database.url, database.schema, keyring=random_keyring())
    yield SqlOAuthStore(sql.database)
    await sql.close()


def code(code_hash: str, created: datetime) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=code_hash,
        client_id="cli_1",
        redirect_uri="http://127.0.0.1/cb",
        scope="",
        code_challenge="c" * 43,
        code_challenge_method="S256",
        grant_id="grt_1",
        tenant_id="tnt_1",
        resource=None,
        created_at=created,
        expires_at=created + timedelta(seconds=60),
    )


async def rows(store: SqlOAuthStore, table: type) -> list[str]:
    async with store.database.session() as s:
        found = await s.exec(select(table))
        return [getattr(r, "code_hash", None) or r.id for r in found]


async def test_a_code_is_taken_once(store) -> None:
    await store.add_code(code("a" * 64, NOW))
    assert await store.take_code("a" * 64, "cli_other", NOW) is None
    taken = await store.take_code("a" * 64, "cli_1", NOW)
    assert taken is not None and taken.grant_id == "grt_1"
    assert await store.take_code("a" * 64, "cli_1", NOW) is None
    assert (await store.replayed_code("a" * 64, "cli_1")) is not None


async def test_old_codes_and_dead_pushed_requests_are_forgotten(store) -> None:
    await store.add_code(code("o" * 64, NOW - timedelta(days=2)))
    await store.add_code(code("n" * 64, NOW))
    assert await rows(store, AuthorizationCodeRow) == ["n" * 64]
    await store.add_pushed("old", "cli_1", {}, NOW - timedelta(minutes=5), NOW - timedelta(minutes=4))
    await store.add_pushed("new", "cli_1", {}, NOW, NOW + timedelta(minutes=1))
    assert await rows(store, PushedRequestRow) == ["new"]
    assert await store.take_pushed("new", "cli_other", NOW) is None  # taken (used up) by the wrong client: gone
    assert await rows(store, PushedRequestRow) == []
