"""Grants: what a delegated app may do, published by auth as state on `grant.state.v1.<grant_id>`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from tollgate_contracts.envelope import StateEvent


class Capability(StrEnum):
    """An endpoint family a grant may call."""

    CHAT = "chat"
    """OpenAI `/v1/chat/completions`."""
    MESSAGES = "messages"
    """Anthropic `/v1/messages`."""
    EMBEDDINGS = "embeddings"
    RESPONSES = "responses"
    IMAGES = "images"
    MODELS = "models"


class GrantStatus(StrEnum):
    """Lifecycle of a grant. Only `active` grants let requests through."""

    PENDING = "pending"
    ACTIVE = "active"
    DENIED = "denied"
    REVOKED = "revoked"
    EXPIRED = "expired"


class BudgetPeriod(StrEnum):
    """Over what span a grant's budget is counted."""

    TOTAL = "total"
    """Over the grant's whole life."""
    DAY = "day"
    """Per UTC calendar day."""
    MONTH = "month"
    """Per UTC calendar month."""


class GrantState(StateEvent):
    """The full current state of one grant."""

    subject_prefix: ClassVar[str] = "grant.state.v1"

    grant_id: str = Field(description="Grant id (`grt_…`); also the `sub` claim of its tokens.")
    tenant_id: str = Field(description="Tenant (`tnt_…`) that owns the grant and the provider credentials.")
    app_name: str | None = Field(default=None, description="The third-party app the grant was given to.")
    status: GrantStatus = Field(description="Lifecycle status; only `active` lets requests through.")
    provider: str = Field(description="Provider name the grant is for (`openai`, `anthropic`, or a custom name).")
    models: tuple[str, ...] = Field(description="Model allowlist; `*` and `?` glob patterns are allowed.")
    capabilities: tuple[Capability, ...] = Field(description="Endpoint families the grant may call.")
    budget_micro_usd: int | None = Field(default=None, ge=0, description="Spend cap in micro-dollars; none = no cap.")
    budget_period: BudgetPeriod = Field(
        default=BudgetPeriod.TOTAL, description="Over what span `budget_micro_usd` is counted; absent = `total`."
    )
    max_requests: int | None = Field(default=None, ge=0, description="Total request cap; none = no cap.")
    rpm: int | None = Field(default=None, ge=1, description="Requests per minute; none = no limit.")
    tpm: int | None = Field(default=None, ge=1, description="Tokens per minute; none = no limit.")
    created_at: datetime = Field(description="When the grant was created.")
    expires_at: datetime | None = Field(default=None, description="When the grant stops working; none = never.")
    revoked_at: datetime | None = Field(default=None, description="When the grant was revoked, if it was.")
    parent_grant_id: str | None = Field(
        default=None,
        description="The grant this sub-grant was exchanged from (RFC 8693); its spend counts against the parent too.",
    )

    @property
    def key(self) -> str:
        return self.grant_id
