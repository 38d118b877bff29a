"""`/v1/grants`, their tokens and API keys, and `/v1/api-keys` (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from tollgate_auth.api.deps import ServiceDep, require_admin
from tollgate_auth.api.schemas import ApiKeyCreated, ApiKeyOut, DataList, GrantIn, GrantOut, TokenIn, TokenOut

router = APIRouter(tags=["grants"], dependencies=[Depends(require_admin)])


@router.post("/v1/grants", status_code=201)
async def create_grant(body: GrantIn, service: ServiceDep) -> GrantOut:
    """Create an active grant directly (the operator's path; apps ask through OAuth consent instead).

    Its state is on the bus before this answers."""
    grant = await service.create_grant(body.to_request(), body.tenant_id)
    return GrantOut.of(grant, service.clock.now())


@router.get("/v1/grants")
async def list_grants(service: ServiceDep, tenant_id: str | None = None) -> DataList[GrantOut]:
    """Every grant, or one tenant's."""
    now = service.clock.now()
    return DataList(data=[GrantOut.of(g, now) for g in await service.list_grants(tenant_id)])


@router.get("/v1/grants/{grant_id}")
async def get_grant(grant_id: str, service: ServiceDep) -> GrantOut:
    """One grant; 404 for an unknown id."""
    return GrantOut.of(await service.get_grant(grant_id), service.clock.now())


@router.post("/v1/grants/{grant_id}/revoke")
async def revoke_grant(grant_id: str, service: ServiceDep) -> GrantOut:
    """Revoke; answers only once the revoked state is acknowledged by JetStream."""
    return GrantOut.of(await service.revoke_grant(grant_id), service.clock.now())


@router.post("/v1/grants/{grant_id}/tokens", status_code=201)
async def mint_token(grant_id: str, service: ServiceDep, body: Annotated[TokenIn | None, Body()] = None) -> TokenOut:
    """Mint a short-lived delegated access token for the grant (never outliving it)."""
    issued = await service.mint_token(grant_id, body.ttl_seconds if body else None)
    return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post("/v1/grants/{grant_id}/api-keys", status_code=201)
async def create_api_key(grant_id: str, service: ServiceDep) -> ApiKeyCreated:
    """Create a `tg_…` API key bound to the grant; the key is shown in this answer only (stored as a hash)."""
    api_key, plain = await service.api_keys.create(grant_id)
    return ApiKeyCreated(**ApiKeyOut.of(api_key).model_dump(), api_key=plain)


@router.get("/v1/grants/{grant_id}/api-keys")
async def list_api_keys(grant_id: str, service: ServiceDep) -> DataList[ApiKeyOut]:
    """The grant's API keys, by prefix and status (never the key)."""
    return DataList(data=[ApiKeyOut.of(k) for k in await service.api_keys.of_grant(grant_id)])


@router.post("/v1/api-keys/{key_id}/revoke")
async def revoke_api_key(key_id: str, service: ServiceDep) -> ApiKeyOut:
    """Revoke an API key; every proxy refuses it once the revocation is on the bus (before this answers)."""
    return ApiKeyOut.of(await service.api_keys.revoke(key_id))
