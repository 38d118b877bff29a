"""API-key bindings for server-to-server use, published by auth on `apikey.state.v1.<key_hash>`."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from tollgate_contracts.envelope import StateEvent


class ApiKeyStatus(StrEnum):
    """Whether the API key is accepted."""

    ACTIVE = "active"
    REVOKED = "revoked"


class ApiKeyState(StateEvent):
    """Binds the SHA-256 of a `tg_…` API key to a grant. The key itself never leaves auth."""

    subject_prefix: ClassVar[str] = "apikey.state.v1"

    key_hash: str = Field(description="Lowercase hex SHA-256 of the full API key.")
    key_prefix: str = Field(description="The key's short visible prefix, for display.")
    grant_id: str = Field(description="The grant whose policy applies to requests made with this key.")
    tenant_id: str = Field(description="Tenant that owns the key.")
    status: ApiKeyStatus = Field(description="Whether the key is accepted.")

    @property
    def key(self) -> str:
        return self.key_hash
