"""Audit events: who changed what, on `audit.<service>.v1`."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from tollgate_contracts.envelope import Event


class AuditEvent(Event):
    """One administrative action. `details` never holds a secret."""

    subject_prefix: ClassVar[str] = "audit"

    service: str = Field(description="Service that performed the action (`auth`, `keyvault`, …).")
    action: str = Field(description="Dotted verb, e.g. `grant.created`, `grant.revoked`, `credential.created`.")
    actor: str = Field(description="Who did it: `admin`, a user id, or a service.")
    target_id: str | None = Field(default=None, description="The entity acted on.")
    tenant_id: str | None = Field(default=None, description="Tenant the entity belongs to.")
    details: dict[str, Any] = Field(default_factory=dict, description="Non-secret facts about the action.")

    @property
    def subject(self) -> str:
        return f"audit.{self.service}.v1"
