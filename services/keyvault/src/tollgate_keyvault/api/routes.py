"""HTTP routes: credentials (admin key). Health is servicekit's `health_router`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, SecretStr

from tollgate_keyvault.api.deps import AdminDep, ServiceDep
from tollgate_keyvault.domain.credential import Credential

credentials = APIRouter(prefix="/v1/credentials", tags=["credentials"], dependencies=[AdminDep])


class CreateCredential(BaseModel):
    """A provider key to store. The key is write-only: no response ever contains it."""

    tenant_id: str = Field(min_length=1, max_length=128, description="Tenant that owns the credential.")
    provider: str = Field(min_length=1, max_length=64, description="`openai`, `anthropic`, or a custom name.")
    api_key: SecretStr = Field(min_length=1, description="The provider key (stored encrypted; never returned).")
    base_url: str | None = Field(
        default=None,
        max_length=2048,
        description="API root without `/v1`; defaults for openai and anthropic, required otherwise. Must be a "
        "public https address unless its host:port is in TOLLGATE_KEYVAULT_EGRESS_ALLOW.",
    )
    api_style: str | None = Field(default=None, description="`openai` or `anthropic`; defaults from the provider.")


class CredentialOut(BaseModel):
    """A stored credential as the API shows it (never the key)."""

    id: str
    tenant_id: str
    provider: str
    api_style: str
    base_url: str
    last4: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, credential: Credential) -> CredentialOut:
        return cls(
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
        )


class CredentialList(BaseModel):
    data: list[CredentialOut]


@credentials.post("", status_code=201)
async def create_credential(body: CreateCredential, service: ServiceDep) -> CredentialOut:
    """Store a provider key (envelope-encrypted; only its last four characters are kept in clear) for a tenant
    auth knows; a custom base URL must pass the egress guard. The key is never returned."""
    credential = await service.create(
        tenant_id=body.tenant_id,
        provider=body.provider,
        api_key=body.api_key.get_secret_value(),
        base_url=body.base_url,
        api_style=body.api_style,
    )
    return CredentialOut.of(credential)


@credentials.get("")
async def list_credentials(
    service: ServiceDep, tenant_id: Annotated[str | None, Query(max_length=128)] = None
) -> CredentialList:
    """Every credential, or one tenant's, masked (last four characters only)."""
    return CredentialList(data=[CredentialOut.of(c) for c in await service.list(tenant_id)])


@credentials.get("/{credential_id}")
async def get_credential(credential_id: str, service: ServiceDep) -> CredentialOut:
    """One credential, masked; 404 for an unknown id."""
    return CredentialOut.of(await service.get(credential_id))


@credentials.delete("/{credential_id}")
async def delete_credential(credential_id: str, service: ServiceDep) -> CredentialOut:
    """Erase the key material and publish the credential as deleted, so proxies drop their cached copy."""
    return CredentialOut.of(await service.delete(credential_id))
