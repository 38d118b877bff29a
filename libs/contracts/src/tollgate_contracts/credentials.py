"""Provider credentials as proxies see them: never the key itself, only where and whether it can be used."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from tollgate_contracts.envelope import StateEvent


class CredentialStatus(StrEnum):
    """Whether a credential may be used."""

    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class CredentialState(StateEvent):
    """The current state of one provider credential, published by keyvault on `credential.state.v1.<id>`.

    A proxy uses it to choose the credential for a grant's tenant and provider and
    to drop a cached key whose `state_version` is older than this one.
    """

    subject_prefix: ClassVar[str] = "credential.state.v1"

    credential_id: str = Field(description="Credential id (`crd_…`).")
    tenant_id: str = Field(description="Tenant that owns the credential.")
    provider: str = Field(description="Provider name (`openai`, `anthropic`, or a custom name).")
    api_style: str = Field(description="Wire dialect the provider speaks: `openai` or `anthropic`.")
    base_url: str = Field(description="API root without the version path, e.g. `https://api.openai.com`.")
    last4: str = Field(description="Last four characters of the key, for display only.")
    status: CredentialStatus = Field(description="Whether the credential may be used.")

    @property
    def key(self) -> str:
        return self.credential_id
