"""API keys for server-to-server use: `tg_` and 43 url-safe characters, stored only as a SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from tollgate_auth.domain.grants import Grant, ensure_usable
from tollgate_contracts import ApiKeyState, ApiKeyStatus

API_KEY_PREFIX = "tg_"
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8


@dataclass(frozen=True)
class ApiKey:
    id: str
    key_hash: str
    key_prefix: str
    grant_id: str
    tenant_id: str
    status: ApiKeyStatus
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None
    version: int


def api_key_text(random_part: str) -> str:
    """The full key handed to the caller once; `random_part` is high-entropy url-safe text."""
    return f"{API_KEY_PREFIX}{random_part}"


def hash_api_key(key: str) -> str:
    """Lowercase hex SHA-256: what is stored and published, and what the proxy looks keys up by."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key(grant: Grant, key: str, *, key_id: str, now: datetime) -> ApiKey:
    """Bind `key` to a grant that may be used right now."""
    ensure_usable(grant, now)
    return ApiKey(
        id=key_id,
        key_hash=hash_api_key(key),
        key_prefix=key[:DISPLAY_PREFIX_LENGTH],
        grant_id=grant.id,
        tenant_id=grant.tenant_id,
        status=ApiKeyStatus.ACTIVE,
        created_at=now,
        updated_at=now,
        revoked_at=None,
        version=1,
    )


def revoke_api_key(key: ApiKey, now: datetime) -> ApiKey | None:
    """The revoked key, or None when it already is."""
    if key.status is ApiKeyStatus.REVOKED:
        return None
    return replace(key, status=ApiKeyStatus.REVOKED, revoked_at=now, updated_at=now, version=key.version + 1)


def api_key_state(key: ApiKey, producer: str) -> ApiKeyState:
    return ApiKeyState(
        producer=producer,
        occurred_at=key.updated_at,
        state_version=key.version,
        key_hash=key.key_hash,
        key_prefix=key.key_prefix,
        grant_id=key.grant_id,
        tenant_id=key.tenant_id,
        status=key.status,
    )
