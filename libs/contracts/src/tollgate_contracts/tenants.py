"""Tenants as other services see them, published by auth as state on `tenant.state.v1.<tenant_id>`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, field_validator

from tollgate_contracts.envelope import StateEvent, is_subject_token


class TenantStatus(StrEnum):
    """Whether a tenant may be given new things (credentials, grants)."""

    ACTIVE = "active"
    DISABLED = "disabled"


class TenantState(StateEvent):
    """The full current state of one tenant, published by auth on `tenant.state.v1.<tenant_id>`.

    Keyvault reads the last one before storing a credential for the tenant: an unknown or disabled tenant gets
    none. The tenant id is one plain subject token (no `.`, `*`, `>` or whitespace).
    """

    subject_prefix: ClassVar[str] = "tenant.state.v1"

    tenant_id: str = Field(description="Tenant id (`tnt_…`), one plain subject token.")
    name: str = Field(description="The tenant's unique display name.")
    status: TenantStatus = Field(description="Whether the tenant may be given new credentials and grants.")
    created_at: datetime = Field(description="When the tenant was created.")

    @field_validator("tenant_id")
    @classmethod
    def _plain_token(cls, value: str) -> str:
        # The id becomes the last subject token: a `.` or a wildcard would publish to (or read) other tenants'.
        if not is_subject_token(value):
            raise ValueError("tenant_id must be one plain subject token (no '.', '*', '>' or whitespace)")
        return value

    @property
    def key(self) -> str:
        return self.tenant_id
