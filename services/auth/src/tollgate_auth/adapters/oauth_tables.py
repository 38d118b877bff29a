"""The OAuth tables: registered clients, authorization codes, pushed and pending authorization requests.

They join auth's registry (`AuthTable`), so `SqlStore.create()` creates them with the others. Secrets (client
secrets, codes) are stored as SHA-256 hex digests only: a copy of the database gives no working credential.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String, Text
from sqlmodel import Field

from tollgate_auth.adapters.tables import AuthTable
from tollgate_servicekit.sqltypes import UtcDateTime

CLIENT_ID_LENGTH = 2000
"""A client-metadata-document client's id is its https URL."""


class OAuthClientRow(AuthTable, table=True):
    __tablename__ = "oauth_clients"

    client_id: str = Field(sa_column=Column(String(CLIENT_ID_LENGTH), primary_key=True))
    secret_hash: str | None = Field(default=None, max_length=64, repr=False)
    client_name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # RFC 7591 metadata as registered (redirect_uris, grant_types, response_types, token_endpoint_auth_method…).
    client_metadata: dict[str, Any] = Field(sa_column=Column("metadata", JSON, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)


class AuthorizationCodeRow(AuthTable, table=True):
    __tablename__ = "oauth_codes"

    code_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(sa_column=Column(String(CLIENT_ID_LENGTH), nullable=False))
    redirect_uri: str = Field(sa_column=Column(Text, nullable=False))
    scope: str = Field(default="", sa_column=Column(Text, nullable=False))
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=16)
    grant_id: str = Field(max_length=40)
    tenant_id: str = Field(max_length=40)
    resource: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    # Set when the code is exchanged: a second exchange finds it used and gets `invalid_grant`.
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # What the exchange issued, so a replayed code can revoke it (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
    access_jti: str | None = Field(default=None, max_length=64)
    access_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    family_id: str | None = Field(default=None, max_length=40)


class PushedRequestRow(AuthTable, table=True):
    """A pushed authorization request (RFC 9126): its parameters, until the browser brings its `request_uri`."""

    __tablename__ = "oauth_pushed_requests"

    id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(sa_column=Column(String(CLIENT_ID_LENGTH), nullable=False))
    params: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)


class PendingRequestRow(AuthTable, table=True):
    """An authorization request waiting for (or answered by) the owner; denied ones stay on record."""

    __tablename__ = "oauth_pending_requests"

    id: str = Field(primary_key=True, max_length=40)
    client_id: str = Field(sa_column=Column(String(CLIENT_ID_LENGTH), nullable=False))
    params: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    owner_id: str | None = Field(default=None, max_length=40)
    tenant_id: str | None = Field(default=None, max_length=40)
    status: str = Field(max_length=16)
    grant_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # A device request (RFC 8628) also has these: the code the owner types, the device code's hash, how often
    # the device may poll, when it last did, and when its device code was exchanged (once).
    user_code: str | None = Field(default=None, sa_column=Column(String(9), unique=True, nullable=True))
    device_code_hash: str | None = Field(default=None, sa_column=Column(String(64), unique=True, nullable=True))
    interval_seconds: int | None = Field(default=None)
    last_polled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class RefreshTokenRow(AuthTable, table=True):
    """A refresh token (its SHA-256), the family it was rotated within, and the access token issued beside it (so
    a family can be revoked with its live access tokens)."""

    __tablename__ = "oauth_refresh_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    family_id: str = Field(index=True, max_length=40)
    client_id: str = Field(sa_column=Column(String(CLIENT_ID_LENGTH), nullable=False))
    grant_id: str = Field(index=True, max_length=40)
    tenant_id: str = Field(max_length=40)
    scope: str = Field(default="", sa_column=Column(Text, nullable=False))
    access_jti: str = Field(max_length=64)
    access_expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The thumbprint of the DPoP key a public client's refresh token is bound to (RFC 9449 §5); None if unbound.
    jkt: str | None = Field(default=None, max_length=64)


class RevokedAccessTokenRow(AuthTable, table=True):
    """An access token revoked before its expiry (RFC 7009, or with its refresh family); introspection says
    `active: false` for it. Its `TokenRevoked` event is what the proxies act on."""

    __tablename__ = "oauth_revoked_access_tokens"

    jti: str = Field(primary_key=True, max_length=64)
    grant_id: str = Field(max_length=40)
    expires_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
    revoked_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
