"""Rows ↔ domain objects for the SQL store. Signing keys are encrypted on the way in and decrypted on the way out:
the private key never reaches the database in clear (`domain.keywrap`)."""

from __future__ import annotations

from typing import Any

from tollgate_auth.adapters.tables import ApiKeyRow, GrantRow, SigningKeyRow, TenantRow
from tollgate_auth.domain import ApiKey, Grant, SigningKey, Tenant
from tollgate_auth.domain.keywrap import RandomBytes, unwrap, wrap
from tollgate_auth.domain.signing_keys import KeyStatus
from tollgate_contracts import ApiKeyStatus, BudgetPeriod, Capability, GrantStatus
from tollgate_servicekit.keyring import Keyring


def tenant_of(row: TenantRow) -> Tenant:
    return Tenant(id=row.id, name=row.name, created_at=row.created_at)


def tenant_row(tenant: Tenant) -> TenantRow:
    return TenantRow(id=tenant.id, name=tenant.name, created_at=tenant.created_at)


def grant_values(grant: Grant) -> dict[str, Any]:
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
        "budget_period": grant.budget_period.value,
        "parent_grant_id": grant.parent_grant_id,
    }


def grant_of(row: GrantRow) -> Grant:
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
        budget_period=BudgetPeriod(row.budget_period),
        parent_grant_id=row.parent_grant_id,
    )


def api_key_values(key: ApiKey) -> dict[str, Any]:
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


def api_key_of(row: ApiKeyRow) -> ApiKey:
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


def signing_key_row(key: SigningKey, keyring: Keyring, random_bytes: RandomBytes) -> SigningKeyRow:
    return SigningKeyRow(
        kid=key.kid,
        alg=key.alg,
        public_jwk=dict(key.public_jwk),
        private_key=wrap(key.private_pem.encode(), key.kid, keyring, random_bytes),
        status=key.status.value,
        created_at=key.created_at,
        updated_at=key.updated_at,
        not_after=key.not_after,
        version=key.version,
    )


def signing_key_of(row: SigningKeyRow, keyring: Keyring) -> SigningKey:
    """The key with its private half decrypted; `KeyUnreadable`/`UnknownKek` when the keyring cannot."""
    return SigningKey(
        kid=row.kid,
        alg=row.alg,
        public_jwk=dict(row.public_jwk),
        private_pem=unwrap(row.private_key, row.kid, keyring).decode(),
        status=KeyStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        not_after=row.not_after,
        version=row.version,
    )
