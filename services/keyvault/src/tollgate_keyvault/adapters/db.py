"""Credentials in SQL (SQLModel over aiosqlite or asyncpg): ciphertext, nonces, wrapped data key, KEK id, last4.

The provider key is never stored in clear. Tables are declared without a
schema; on PostgreSQL servicekit's `Database` maps them into the configured
schema, so tests and deployments can each have their own. Tables belong to
keyvault's own SQLModel registry, so other services' models loaded in the same
process never end up in keyvault's database; the tables are made and changed by
Alembic migrations only (`tollgate_keyvault.migrations`). Driver failures reach the caller
as `StoreUnavailable` (servicekit); a duplicate id is `InvalidInput`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col, select, update

from tollgate_keyvault import migrations
from tollgate_keyvault.domain.credential import ApiStyle, Credential, Status
from tollgate_keyvault.domain.envelope import Envelope
from tollgate_keyvault.domain.errors import ConcurrentUpdate, CredentialNotFound, InvalidInput
from tollgate_servicekit.sql import Database
from tollgate_servicekit.sqltypes import UtcDateTime


class _Table(SQLModel, registry=registry()):
    pass


class CredentialRow(_Table, table=True):
    """One credential. `ciphertext`, `nonce` and `wrapped_key` are empty once it is deleted."""

    __tablename__ = "credentials"

    id: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(index=True, max_length=128)
    provider: str = Field(max_length=64)
    api_style: str = Field(max_length=16)
    base_url: str = Field(max_length=2048)
    last4: str = Field(max_length=4)
    status: str = Field(max_length=16)
    version: int
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    nonce: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    wrapped_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    kek_id: str = Field(max_length=64)


METADATA = _Table.metadata


def _to_row(credential: Credential) -> CredentialRow:
    return CredentialRow(
        id=credential.id,
        tenant_id=credential.tenant_id,
        provider=credential.provider,
        api_style=credential.api_style.value,
        base_url=credential.base_url,
        last4=credential.last4,
        status=credential.status.value,
        version=credential.version,
        created_at=credential.created_at,
        updated_at=credential.updated_at,
        ciphertext=credential.envelope.ciphertext,
        nonce=credential.envelope.nonce,
        wrapped_key=credential.envelope.wrapped_key,
        kek_id=credential.envelope.kek_id,
    )


def _from_row(row: CredentialRow) -> Credential:
    return Credential(
        id=row.id,
        tenant_id=row.tenant_id,
        provider=row.provider,
        api_style=ApiStyle(row.api_style),
        base_url=row.base_url,
        last4=row.last4,
        status=Status(row.status),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        envelope=Envelope(
            ciphertext=bytes(row.ciphertext),
            nonce=bytes(row.nonce),
            wrapped_key=bytes(row.wrapped_key),
            kek_id=row.kek_id,
        ),
    )


class SqlCredentialStore:
    """`CredentialStore` over a `Database`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def migrate(self) -> None:
        """The schema (PostgreSQL) and tables brought to the newest migration (`tollgate_keyvault.migrations`).
        Safe to run from every replica at start; a database made by `create_all` before migrations is stamped."""
        await migrations.upgrade(self._database)

    async def add(self, credential: Credential) -> None:
        async with self._database.session() as session:
            session.add(_to_row(credential))
            try:
                await session.commit()
            except IntegrityError:
                raise InvalidInput(f"credential {credential.id} already exists") from None

    async def get(self, credential_id: str) -> Credential:
        async with self._database.session() as session:
            row = await session.get(CredentialRow, credential_id)
        if row is None:
            raise CredentialNotFound(credential_id)
        return _from_row(row)

    async def list(self, tenant_id: str | None = None) -> Sequence[Credential]:
        query = select(CredentialRow).order_by(col(CredentialRow.created_at), col(CredentialRow.id))
        if tenant_id is not None:
            query = query.where(col(CredentialRow.tenant_id) == tenant_id)
        async with self._database.session() as session:
            rows = (await session.exec(query)).all()
        return [_from_row(row) for row in rows]

    async def replace(self, credential: Credential, expected_version: int) -> None:
        row = _to_row(credential)
        values = row.model_dump(exclude={"id", "created_at"})
        statement = (
            update(CredentialRow)
            .where(col(CredentialRow.id) == credential.id, col(CredentialRow.version) == expected_version)
            .values(**values)
        )
        async with self._database.session() as session:
            result = await session.exec(statement)
            await session.commit()
        if result.rowcount != 1:
            await self.get(credential.id)  # CredentialNotFound when it is gone altogether
            raise ConcurrentUpdate(credential.id)
