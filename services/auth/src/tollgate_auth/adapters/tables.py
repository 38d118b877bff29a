"""Auth's tables, declared without a schema (PostgreSQL gets one through `schema_translate_map`).

They live in a registry of their own, so `create_all` creates auth's tables and no other service's, even
when several services' models are imported into one process (tests).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, String, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from tollgate_servicekit.sqltypes import UtcDateTime


class AuthTable(SQLModel, registry=registry()):
    pass


class TenantRow(AuthTable, table=True):
    __tablename__ = "tenants"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(sa_column=Column(String(100), unique=True, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    consent_template: dict[str, object] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """What the consent page proposes where an app asked nothing (`domain/templates.py`); null = the default."""


class GrantRow(AuthTable, table=True):
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
    # How the budget counts (total, per day, per month) and, for a sub-grant (RFC 8693), its parent grant.
    budget_period: str = Field(default="total", max_length=8)
    parent_grant_id: str | None = Field(default=None, index=True, max_length=40)


class ApiKeyRow(AuthTable, table=True):
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


class SigningKeyRow(AuthTable, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(max_length=16)
    public_jwk: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    # The private key encrypted (`domain.keywrap`, `tgwrap1:…`). The column keeps the name it had when it held a
    # clear PEM, so a database from before encryption at rest opens unchanged and is encrypted in place at start.
    private_key: str = Field(sa_column=Column("private_pem", Text, nullable=False), repr=False)
    status: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    not_after: datetime | None = Field(default=None, sa_type=UtcDateTime)
    version: int = Field(sa_type=BigInteger)


class UserRow(AuthTable, table=True):
    """An owner account. Emails are unique across tenants: sign-in asks for an email, not a tenant."""

    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    email: str = Field(sa_column=Column(String(254), unique=True, nullable=False))
    role: str = Field(max_length=16)
    password_hash: str = Field(sa_column=Column(Text, nullable=False), repr=False)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UtcDateTime, nullable=False)


class WebSessionRow(AuthTable, table=True):
    """A signed-in browser: the SHA-256 of its cookie's random id, never the id itself."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=40)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    last_seen_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
