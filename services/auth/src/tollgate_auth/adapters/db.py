"""The store on SQLModel over asyncpg (PostgreSQL) or aiosqlite (SQLite).

Updates are optimistic (`UPDATE … WHERE version = :seen`, retried on a lost race), which needs no row
locks and behaves the same on both databases. Driver errors are translated here: a lost connection
becomes `DatabaseUnavailable`, a taken tenant name `TenantExists`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import CursorResult, text, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tollgate_auth.adapters.tables import ApiKeyRow, AuthTable, GrantRow, SigningKeyRow, TenantRow
from tollgate_auth.domain import ApiKey, Grant, SigningKey, Tenant
from tollgate_auth.domain.errors import ApiKeyNotFound, Conflict, DatabaseUnavailable, GrantNotFound, TenantExists
from tollgate_contracts import ApiKeyStatus, Capability, GrantStatus, SigningKeyStatus

SCHEMA_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
UPDATE_ATTEMPTS = 20

T = TypeVar("T", Grant, ApiKey)


def check_database_settings(url: str, schema: str | None) -> None:
    """Raise `ValueError` for a configuration that can never work (checked before any connection is tried)."""
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/").endswith(":"):
            raise ValueError("SQLite must be a file: one in-memory connection corrupts under concurrent sessions")
    elif not url.startswith("postgresql"):
        raise ValueError("the database URL must be sqlite+aiosqlite:///<file> or postgresql+asyncpg://…")
    elif schema is not None and not SCHEMA_PATTERN.fullmatch(schema):
        raise ValueError(f"not a plain schema name: {schema!r}")


class SqlStore:
    """Auth's durable state. Build with `await SqlStore.open(url, schema)`; `close()` when done."""

    def __init__(self, engine: AsyncEngine, root_engine: AsyncEngine) -> None:
        self._engine = engine
        self._root_engine = root_engine

    @classmethod
    async def open(cls, url: str, schema: str | None = None) -> SqlStore:
        """Connect, create the schema (PostgreSQL) and the tables if missing."""
        check_database_settings(url, schema)
        sqlite = url.startswith("sqlite")
        connect_args: dict[str, Any] = {"timeout": 30} if sqlite else {}
        root = create_async_engine(url, connect_args=connect_args, pool_pre_ping=not sqlite)
        engine = root
        if not sqlite and schema:
            engine = root.execution_options(schema_translate_map={None: schema})
        store = cls(engine, root)
        try:
            async with engine.begin() as conn:
                if engine is not root:
                    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await conn.run_sync(AuthTable.metadata.create_all)
        except (OperationalError, InterfaceError, OSError, TimeoutError) as exc:
            await root.dispose()
            raise DatabaseUnavailable(f"database unreachable: {type(exc).__name__}") from exc
        except BaseException:
            await root.dispose()
            raise
        return store

    async def close(self) -> None:
        await self._root_engine.dispose()

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        try:
            async with AsyncSession(self._engine, expire_on_commit=False) as session:
                yield session
        except (OperationalError, InterfaceError, OSError, TimeoutError) as exc:
            raise DatabaseUnavailable(f"database unreachable: {type(exc).__name__}") from exc

    async def ping(self) -> None:
        async with self._session() as s:
            await s.exec(select(1))

    # -- tenants -------------------------------------------------------------------------------------------------

    async def add_tenant(self, tenant: Tenant) -> None:
        async with self._session() as s:
            s.add(TenantRow(id=tenant.id, name=tenant.name, created_at=tenant.created_at))
            try:
                await s.commit()
            except IntegrityError:
                raise TenantExists(f"a tenant named {tenant.name!r} already exists") from None

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        async with self._session() as s:
            row = await s.get(TenantRow, tenant_id)
            return None if row is None else _tenant(row)

    async def tenant_by_name(self, name: str) -> Tenant | None:
        async with self._session() as s:
            row = (await s.exec(select(TenantRow).where(TenantRow.name == name))).first()
            return None if row is None else _tenant(row)

    async def list_tenants(self) -> list[Tenant]:
        async with self._session() as s:
            rows = await s.exec(select(TenantRow).order_by(col(TenantRow.created_at), col(TenantRow.id)))
            return [_tenant(r) for r in rows]

    # -- grants --------------------------------------------------------------------------------------------------

    async def add_grant(self, grant: Grant) -> None:
        async with self._session() as s:
            s.add(GrantRow(**_grant_values(grant)))
            await s.commit()

    async def get_grant(self, grant_id: str) -> Grant | None:
        async with self._session() as s:
            row = await s.get(GrantRow, grant_id)
            return None if row is None else _grant(row)

    async def list_grants(self, tenant_id: str | None = None) -> list[Grant]:
        query = select(GrantRow).order_by(col(GrantRow.created_at), col(GrantRow.id))
        if tenant_id is not None:
            query = query.where(GrantRow.tenant_id == tenant_id)
        async with self._session() as s:
            return [_grant(r) for r in await s.exec(query)]

    async def update_grant(self, grant_id: str, change: Callable[[Grant], Grant | None]) -> tuple[Grant, bool]:
        async def load(s: AsyncSession) -> Grant:
            row = await s.get(GrantRow, grant_id)
            if row is None:
                raise GrantNotFound(f"no grant {grant_id!r}")
            return _grant(row)

        return await self._update(GrantRow, grant_id, load, change, _grant_values)

    # -- API keys ------------------------------------------------------------------------------------------------

    async def add_api_key(self, key: ApiKey) -> None:
        async with self._session() as s:
            s.add(ApiKeyRow(**_api_key_values(key)))
            await s.commit()

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        async with self._session() as s:
            row = await s.get(ApiKeyRow, key_id)
            return None if row is None else _api_key(row)

    async def list_api_keys(self, grant_id: str | None = None) -> list[ApiKey]:
        query = select(ApiKeyRow).order_by(col(ApiKeyRow.created_at), col(ApiKeyRow.id))
        if grant_id is not None:
            query = query.where(ApiKeyRow.grant_id == grant_id)
        async with self._session() as s:
            return [_api_key(r) for r in await s.exec(query)]

    async def update_api_key(self, key_id: str, change: Callable[[ApiKey], ApiKey | None]) -> tuple[ApiKey, bool]:
        async def load(s: AsyncSession) -> ApiKey:
            row = await s.get(ApiKeyRow, key_id)
            if row is None:
                raise ApiKeyNotFound(f"no API key {key_id!r}")
            return _api_key(row)

        return await self._update(ApiKeyRow, key_id, load, change, _api_key_values)

    # -- signing keys --------------------------------------------------------------------------------------------

    async def add_signing_key(self, key: SigningKey) -> None:
        async with self._session() as s:
            s.add(
                SigningKeyRow(
                    kid=key.kid,
                    alg=key.alg,
                    public_jwk=dict(key.public_jwk),
                    private_pem=key.private_pem,
                    status=key.status.value,
                    created_at=key.created_at,
                    updated_at=key.updated_at,
                    not_after=key.not_after,
                    version=key.version,
                )
            )
            await s.commit()

    async def list_signing_keys(self) -> list[SigningKey]:
        async with self._session() as s:
            rows = await s.exec(select(SigningKeyRow).order_by(col(SigningKeyRow.created_at)))
            return [_signing_key(r) for r in rows]

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
        raise Conflict(f"{key} is being changed by others; try again")


def _tenant(row: TenantRow) -> Tenant:
    return Tenant(id=row.id, name=row.name, created_at=row.created_at)


def _grant_values(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "tenant_id": grant.tenant_id,
        "app_name": grant.app_name,
        "status": grant.status.value,
        "provider": grant.provider,
        "models": list(grant.models),
        "capabilities": [c.value for c in grant.capabilities],
        "budget_micro_usd": grant.budget_micro_usd,
        "max_requests": grant.max_requests,
        "rpm": grant.rpm,
        "tpm": grant.tpm,
        "created_at": grant.created_at,
        "updated_at": grant.updated_at,
        "expires_at": grant.expires_at,
        "revoked_at": grant.revoked_at,
        "version": grant.version,
    }


def _grant(row: GrantRow) -> Grant:
    return Grant(
        id=row.id,
        tenant_id=row.tenant_id,
        app_name=row.app_name,
        status=GrantStatus(row.status),
        provider=row.provider,
        models=tuple(row.models),
        capabilities=tuple(Capability(c) for c in row.capabilities),
        budget_micro_usd=row.budget_micro_usd,
        max_requests=row.max_requests,
        rpm=row.rpm,
        tpm=row.tpm,
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        version=row.version,
    )


def _api_key_values(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "key_hash": key.key_hash,
        "key_prefix": key.key_prefix,
        "grant_id": key.grant_id,
        "tenant_id": key.tenant_id,
        "status": key.status.value,
        "created_at": key.created_at,
        "updated_at": key.updated_at,
        "revoked_at": key.revoked_at,
        "version": key.version,
    }


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        key_hash=row.key_hash,
        key_prefix=row.key_prefix,
        grant_id=row.grant_id,
        tenant_id=row.tenant_id,
        status=ApiKeyStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        revoked_at=row.revoked_at,
        version=row.version,
    )


def _signing_key(row: SigningKeyRow) -> SigningKey:
    return SigningKey(
        kid=row.kid,
        alg=row.alg,
        public_jwk=dict(row.public_jwk),
        private_pem=row.private_pem,
        status=SigningKeyStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        not_after=row.not_after,
        version=row.version,
    )
