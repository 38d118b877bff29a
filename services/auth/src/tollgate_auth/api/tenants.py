"""`/v1/tenants` (admin), and each tenant's consent template: what the consent page proposes where an app asked
for nothing (a scope-only request, as MCP clients send)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictInt, StrictStr, WithJsonSchema

from tollgate_auth.api.deps import ServiceDep, require_admin
from tollgate_auth.api.schemas import Body, DataList, TenantIn, TenantOut
from tollgate_auth.domain.access import Template
from tollgate_auth.domain.templates import parse_template, template_json
from tollgate_contracts import BudgetPeriod

router = APIRouter(prefix="/v1/tenants", tags=["tenants"], dependencies=[Depends(require_admin)])


class ConsentTemplateIn(Body):
    """The whole template (a PUT replaces it); a field left out or null proposes nothing for it."""

    provider: StrictStr | None = Field(default=None, description="Proposed provider (`openai`, `anthropic`, …).")
    models: list[StrictStr] | None = Field(default=None, description="Proposed models (glob patterns allowed).")
    capabilities: list[StrictStr] | None = Field(default=None, description="Proposed endpoint families.")
    budget_usd: Annotated[
        Any, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]})
    ] = Field(default=None, description='Proposed spend cap in dollars, e.g. "5.00".')
    budget_period: BudgetPeriod | None = Field(
        default=None, description="Over what span the budget counts (`total`, `day`, `month`); needs `budget_usd`."
    )
    max_requests: StrictInt | None = Field(default=None, description="Proposed total request cap.")
    rpm: StrictInt | None = Field(default=None, description="Proposed requests per minute.")
    tpm: StrictInt | None = Field(default=None, description="Proposed tokens per minute.")
    expires_in_seconds: StrictInt | None = Field(default=None, description="Proposed grant lifetime in seconds.")

    def to_template(self) -> Template:
        return parse_template(**self.model_dump())


class ConsentTemplateOut(BaseModel):
    """A tenant's effective consent template; `is_default` when it has none of its own (the built-in one)."""

    tenant_id: str
    is_default: bool = Field(description="True when the tenant has set no template: these are the built-in values.")
    provider: str | None
    models: list[str] | None
    capabilities: list[str] | None
    budget_usd: str | None = Field(description="Dollars with six decimals, e.g. `5.000000`.")
    budget_period: BudgetPeriod | None
    max_requests: int | None
    rpm: int | None
    tpm: int | None
    expires_in_seconds: int | None

    @classmethod
    def of(cls, tenant_id: str, template: Template, *, is_default: bool) -> ConsentTemplateOut:
        return cls.model_validate({"tenant_id": tenant_id, "is_default": is_default, **template_json(template)})


@router.post("", status_code=201)
async def create_tenant(body: TenantIn, service: ServiceDep) -> TenantOut:
    """Create a tenant; its state is on the bus before this answers."""
    return TenantOut.of(await service.tenants.create(body.name))


@router.get("")
async def list_tenants(service: ServiceDep) -> DataList[TenantOut]:
    """Every tenant."""
    return DataList(data=[TenantOut.of(t) for t in await service.tenants.all()])


@router.get("/{tenant_id}/consent-template")
async def get_consent_template(tenant_id: str, service: ServiceDep) -> ConsentTemplateOut:
    """The values the consent page (and device approval) proposes to this tenant's owners where an app asked for
    nothing; the built-in default (`is_default`) until one is set. 404 for an unknown tenant."""
    template, own = await service.tenants.template_of(tenant_id)
    return ConsentTemplateOut.of(tenant_id, template, is_default=not own)


@router.put("/{tenant_id}/consent-template")
async def put_consent_template(tenant_id: str, body: ConsentTemplateIn, service: ServiceDep) -> ConsentTemplateOut:
    """Replace the tenant's consent template. Every value is checked as a grant's is (provider, models,
    capabilities, budget and period, caps, expiry): 422 names the first bad field; 404 for an unknown tenant.
    Proposals only: the owner may change any of them on the consent page."""
    template = await service.tenants.set_template(tenant_id, body.to_template())
    return ConsentTemplateOut.of(tenant_id, template, is_default=False)
