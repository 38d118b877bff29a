"""`/v1/tenants` (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from tollgate_auth.api.deps import ServiceDep, require_admin
from tollgate_auth.api.schemas import DataList, TenantIn, TenantOut

router = APIRouter(prefix="/v1/tenants", tags=["tenants"], dependencies=[Depends(require_admin)])


@router.post("", status_code=201)
async def create_tenant(body: TenantIn, service: ServiceDep) -> TenantOut:
    """Create a tenant; its state is on the bus before this answers."""
    return TenantOut.of(await service.tenants.create(body.name))


@router.get("")
async def list_tenants(service: ServiceDep) -> DataList[TenantOut]:
    """Every tenant."""
    return DataList(data=[TenantOut.of(t) for t in await service.tenants.all()])
