"""Request and response bodies. Requests refuse unknown fields: a misspelt `budget_usd` must not mean "no cap"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, WithJsonSchema

from tollgate_auth.domain import ApiKey, Grant, GrantRequest, Tenant, effective_status
from tollgate_contracts import ApiKeyStatus, BudgetPeriod, Capability, GrantStatus, micro_to_usd

T = TypeVar("T")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataList(BaseModel, Generic[T]):
    data: list[T]


class TenantIn(Body):
    name: StrictStr = Field(description="Unique display name.")


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(id=tenant.id, name=tenant.name, created_at=tenant.created_at)


class GrantIn(Body):
    tenant_id: StrictStr | None = Field(default=None, description="Owning tenant; the default tenant when omitted.")
    app_name: StrictStr | None = Field(default=None, description="The app the grant is for.")
    provider: StrictStr = Field(description="Provider name: `openai`, `anthropic` or a custom lowercase name.")
    models: list[StrictStr] = Field(description="Model allowlist (glob patterns allowed); at least one.")
    capabilities: list[StrictStr] | None = Field(
        default=None, description="Endpoint families; default `chat` (`messages` for anthropic)."
    )
    # Any here, checked by the domain, so a wrong type gets the same one-line message as a wrong amount.
    budget_usd: Annotated[
        Any, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]})
    ] = Field(default=None, description='Spend cap in dollars, e.g. "5.00" (or a JSON number); none = no cap.')
    max_requests: StrictInt | None = Field(default=None, description="Total request cap.")
    rpm: StrictInt | None = Field(default=None, description="Requests per minute.")
    tpm: StrictInt | None = Field(default=None, description="Tokens per minute.")
    expires_in_seconds: StrictInt | None = Field(default=None, description="Lifetime from now; none = no expiry.")

    def to_request(self) -> GrantRequest:
        return GrantRequest(
            provider=self.provider,
            models=self.models,
            app_name=self.app_name,
            capabilities=self.capabilities,
            budget_usd=self.budget_usd,
            max_requests=self.max_requests,
            rpm=self.rpm,
            tpm=self.tpm,
            expires_in_seconds=self.expires_in_seconds,
        )


class GrantOut(BaseModel):
    id: str
    tenant_id: str
    app_name: str | None
    status: GrantStatus
    provider: str
    models: list[str]
    capabilities: list[Capability]
    budget_micro_usd: int | None
    budget_usd: str | None
    max_requests: int | None
    rpm: int | None
    tpm: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    version: int
    budget_period: BudgetPeriod = Field(
        default=BudgetPeriod.TOTAL,
        description="Over what span `budget_usd` is counted: `total` (the grant's whole life), `day` or `month` "
        "(UTC calendar day or month, renewed at each).",
    )
    parent_grant_id: str | None = Field(
        default=None,
        description="For a sub-grant made by token exchange (RFC 8693), the grant it was narrowed from; its spend "
        "counts against that parent too. Null for a grant of its own.",
    )

    @classmethod
    def of(cls, grant: Grant, now: datetime) -> GrantOut:
        budget = grant.budget_micro_usd
        return cls(
            id=grant.id,
            tenant_id=grant.tenant_id,
            app_name=grant.app_name,
            status=effective_status(grant, now),
            provider=grant.provider,
            models=list(grant.models),
            capabilities=list(grant.capabilities),
            budget_micro_usd=budget,
            budget_usd=None if budget is None else micro_to_usd(budget),
            max_requests=grant.max_requests,
            rpm=grant.rpm,
            tpm=grant.tpm,
            created_at=grant.created_at,
            expires_at=grant.expires_at,
            revoked_at=grant.revoked_at,
            version=grant.version,
            budget_period=grant.budget_period,
            parent_grant_id=grant.parent_grant_id,
        )


class TokenIn(Body):
    ttl_seconds: StrictInt | None = Field(default=None, description="Token lifetime; default 900 seconds.")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class ApiKeyOut(BaseModel):
    id: str
    prefix: str
    grant_id: str
    tenant_id: str
    status: ApiKeyStatus
    created_at: datetime
    revoked_at: datetime | None
    version: int

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            prefix=key.key_prefix,
            grant_id=key.grant_id,
            tenant_id=key.tenant_id,
            status=key.status,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            version=key.version,
        )


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="The full key. Shown once: only its SHA-256 is kept.")
