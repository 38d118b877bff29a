"""Auth's store: SQLModel tables on servicekit's `Database` (asyncpg on PostgreSQL, aiosqlite on SQLite).

Updates are optimistic (`UPDATE … WHERE version = :seen`, retried on a lost race), which needs no row
locks and behaves the same on both databases. Driver failures become `StoreUnavailable` (servicekit); a taken
tenant name becomes `TenantExists` here.

Signing private keys are stored encrypted under the keyring's current KEK (`adapters/rows.py`). `create()`
decrypts every stored key (a wrong KEK stops the start there, loudly) and writes again, under the current KEK,
any key stored in clear by an older auth or under an older KEK. On SQLite the old values are overwritten with
zeros (`secure_delete`, then `VACUUM` and a WAL checkpoint), so no clear copy is left in the files; on PostgreSQL
the old row version stays in the table's pages until autovacuum reuses them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import CursorResult, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tollgate_auth.adapters.accounts_db import AccountTables
from tollgate_auth.adapters.rows import (
    api_key_of,
    api_key_values,
    grant_of,
    grant_values,
    signing_key_of,
    signing_key_row,
    tenant_of,
    tenant_row,
)
from tollgate_auth.adapters.signing_store import update_signing_key
from tollgate_auth.adapters.tables import ApiKeyRow, GrantRow, SigningKeyRow, TenantRow
from tollgate_auth.domain import ApiKey, Grant, SigningKey, Tenant
from tollgate_auth.domain.errors import ApiKeyNotFound, Conflict, GrantNotFound, TenantExists
from tollgate_auth.domain.keywrap import RandomBytes, is_wrapped, needs_rewrap, unwrap, wrap
from tollgate_auth.migrations import upgrade as migrate
from tollgate_servicekit.keyring import Keyring
from tollgate_servicekit.redaction import clip
from tollgate_servicekit.sql import Database, translate_errors

log = logging.getLogger(__name__)

UPDATE_ATTEMPTS = 20

T = TypeVar("T", Grant, ApiKey)


class SqlStore(AccountTables):
    """Auth's durable state in `database`. `await create()` once before use (a start-up step); `close()` when done
    (it disposes the database's engine)."""

    def __init__(self, database: Database, keyring: Keyring, random_bytes: RandomBytes = os.urandom) -> None:
        self.database = database
        self._keyring = keyring
        self._random_bytes = random_bytes
        self._session = database.session

    @classmethod
    async def open(
        cls, url: str, schema: str | None = None, *, keyring: Keyring, random_bytes: RandomBytes = os.urandom
    ) -> SqlStore:
        """A store on a new `Database(url, schema)`, created; for tests and tools."""
        store = cls(Database(url, schema), keyring, random_bytes)
        try:
            await store.create()
        except BaseException:
            await store.close()
            raise
        return store

    async def create(self) -> None:
        """Create the schema (PostgreSQL), bring the tables to the newest migration, and encrypt any key found in
        clear. Safe from replicas starting together (`tollgate_auth.migrations`).

        Raises `KeyUnreadable`/`UnknownKek` when a stored signing key does not decrypt with the keyring.
        """
        await migrate(self.database)
        async with translate_errors():
            await self._protect_signing_keys()

    async def close(self) -> None:
        await self.database.dispose()

    async def ping(self) -> None:
        await self.database.ping()

    async def _protect_signing_keys(self) -> None:
        """Decrypt every stored key (so a wrong KEK fails here), then encrypt under the current KEK those that are
        in clear or under an older KEK."""
        engine = self.database.engine
        async with engine.connect() as conn:
            result = await conn.execute(select(col(SigningKeyRow.kid), col(SigningKeyRow.private_key)))
            stored: list[tuple[str, str]] = [(kid, value) for kid, value in result]
        private = {kid: unwrap(value, kid, self._keyring) for kid, value in stored}
        stale = [(kid, value) for kid, value in stored if needs_rewrap(value, self._keyring)]
        if not stale:
            return
        sqlite = not self.database.is_postgres
        async with engine.begin() as conn:
            if sqlite:
                # Freed space is overwritten with zeros, so the clear value does not linger in the file.
                await conn.execute(text("PRAGMA secure_delete = ON"))
            for kid, value in stale:
                # Compare-and-set: another replica doing the same at the same time leaves one valid value.
                await conn.execute(
                    update(SigningKeyRow)
                    .where(col(SigningKeyRow.kid) == kid, col(SigningKeyRow.private_key) == value)
                    .values(private_key=wrap(private[kid], kid, self._keyring, self._random_bytes))
                )
        if sqlite:
            # Rebuild the file (no free page keeps an old copy) and fold the WAL into it.
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM"))
                await autocommit.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        clear = [kid for kid, value in stale if not is_wrapped(value)]
        current = self._keyring.current.id
        if clear:
            log.warning(
                "encrypted %d signing key(s) found in clear in the database (%s) under KEK %s",
                len(clear),
                ", ".join(clear),
                current,
            )
        if len(stale) > len(clear):
            log.info("re-encrypted %d signing key(s) under KEK %s", len(stale) - len(clear), current)

    # -- tenants -------------------------------------------------------------------------------------------------

    async def add_tenant(self, tenant: Tenant) -> None:
        async with self._session() as s:
            s.add(tenant_row(tenant))
            try:
                await s.commit()
            except IntegrityError:
                raise TenantExists(f"a tenant named {clip(tenant.name)!r} already exists") from None

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        async with self._session() as s:
            row = await s.get(TenantRow, tenant_id)
            return None if row is None else tenant_of(row)

    async def tenant_by_name(self, name: str) -> Tenant | None:
        async with self._session() as s:
            row = (await s.exec(select(TenantRow).where(TenantRow.name == name))).first()
            return None if row is None else tenant_of(row)

    async def list_tenants(self) -> list[Tenant]:
        async with self._session() as s:
            rows = await s.exec(select(TenantRow).order_by(col(TenantRow.created_at), col(TenantRow.id)))
            return [tenant_of(r) for r in rows]

    async def get_consent_template(self, tenant_id: str) -> dict[str, object] | None:
        async with self._session() as s:
            row = await s.get(TenantRow, tenant_id)
            return None if row is None else row.consent_template

    async def set_consent_template(self, tenant_id: str, template: dict[str, object] | None) -> bool:
        async with self._session() as s:
            query = update(TenantRow).where(col(TenantRow.id) == tenant_id).values(consent_template=template)
            result = await s.exec(query)
            await s.commit()
            return isinstance(result, CursorResult) and result.rowcount == 1

    # -- grants --------------------------------------------------------------------------------------------------

    async def add_grant(self, grant: Grant) -> None:
        async with self._session() as s:
            s.add(GrantRow(**grant_values(grant)))
            await s.commit()

    async def get_grant(self, grant_id: str) -> Grant | None:
        async with self._session() as s:
            row = await s.get(GrantRow, grant_id)
            return None if row is None else grant_of(row)

    async def list_grants(self, tenant_id: str | None = None) -> list[Grant]:
        query = select(GrantRow).order_by(col(GrantRow.created_at), col(GrantRow.id))
        if tenant_id is not None:
            query = query.where(GrantRow.tenant_id == tenant_id)
        async with self._session() as s:
            return [grant_of(r) for r in await s.exec(query)]

    async def update_grant(self, grant_id: str, change: Callable[[Grant], Grant | None]) -> tuple[Grant, bool]:
        async def load(s: AsyncSession) -> Grant:
            row = await s.get(GrantRow, grant_id)
            if row is None:
                raise GrantNotFound(f"no grant {clip(grant_id)!r}")
            return grant_of(row)

        return await self._update(GrantRow, grant_id, load, change, grant_values)

    # -- API keys ------------------------------------------------------------------------------------------------

    async def add_api_key(self, key: ApiKey) -> None:
        async with self._session() as s:
            s.add(ApiKeyRow(**api_key_values(key)))
            await s.commit()

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        async with self._session() as s:
            row = await s.get(ApiKeyRow, key_id)
            return None if row is None else api_key_of(row)

    async def list_api_keys(self, grant_id: str | None = None) -> list[ApiKey]:
        query = select(ApiKeyRow).order_by(col(ApiKeyRow.created_at), col(ApiKeyRow.id))
        if grant_id is not None:
            query = query.where(ApiKeyRow.grant_id == grant_id)
        async with self._session() as s:
            return [api_key_of(r) for r in await s.exec(query)]

    async def update_api_key(self, key_id: str, change: Callable[[ApiKey], ApiKey | None]) -> tuple[ApiKey, bool]:
        async def load(s: AsyncSession) -> ApiKey:
            row = await s.get(ApiKeyRow, key_id)
            if row is None:
                raise ApiKeyNotFound(f"no API key {clip(key_id)!r}")
            return api_key_of(row)

        return await self._update(ApiKeyRow, key_id, load, change, api_key_values)

    # -- signing keys --------------------------------------------------------------------------------------------

    async def add_signing_key(self, key: SigningKey) -> None:
        async with self._session() as s:
            s.add(signing_key_row(key, self._keyring, self._random_bytes))
            await s.commit()

    async def list_signing_keys(self) -> list[SigningKey]:
        async with self._session() as s:
            rows = await s.exec(select(SigningKeyRow).order_by(col(SigningKeyRow.created_at)))
            return [signing_key_of(r, self._keyring) for r in rows]

    async def update_signing_key(
        self, kid: str, change: Callable[[SigningKey], SigningKey | None]
    ) -> tuple[SigningKey, bool]:
        return await update_signing_key(self.database, self._keyring, kid, change)

    # -- helpers -------------------------------------------------------------------------------------------------

    async def _update(
        self,
        table: type[GrantRow] | type[ApiKeyRow],
        key: str,
        load: Callable[[AsyncSession], Awaitable[T]],
        change: Callable[[T], T | None],
        values: Callable[[T], dict[str, Any]],
    ) -> tuple[T, bool]:
        for _ in range(UPDATE_ATTEMPTS):
            async with self._session() as s:
                current = await load(s)
                following = change(current)
                if following is None:
                    return current, False
                statement = (
                    update(table)
                    .where(col(table.id) == key, col(table.version) == current.version)
                    .values(**values(following))
                )
                result = await s.exec(statement)
                if isinstance(result, CursorResult) and result.rowcount == 1:
                    await s.commit()
                    return following, True
                await s.rollback()
        raise Conflict(f"{clip(key)} is being changed by others; try again")
