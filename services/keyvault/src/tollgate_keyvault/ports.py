"""What the keyvault use cases need from the outside world, as Protocols (adapters and fakes implement them).

The clock and ids are servicekit's ports (`tollgate_servicekit.clock`); their fakes are in
`tollgate_servicekit.testing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tollgate_contracts import AuditEvent, CredentialState, TenantState
from tollgate_keyvault.domain.credential import Credential
from tollgate_servicekit.clock import Clock, Ids

__all__ = ["Clock", "CredentialStore", "Ids", "Publisher", "Tenants", "UrlGuard"]


class CredentialStore(Protocol):
    """Durable credentials. Raises CredentialNotFound / ConcurrentUpdate from `tollgate_keyvault.domain.errors`."""

    async def add(self, credential: Credential) -> None:
        """Insert a new credential."""
        ...

    async def get(self, credential_id: str) -> Credential:
        """The credential, or CredentialNotFound."""
        ...

    async def list(self, tenant_id: str | None = None) -> Sequence[Credential]:
        """Every credential (of one tenant when given), oldest first."""
        ...

    async def replace(self, credential: Credential, expected_version: int) -> None:
        """Store `credential` if the stored version is still `expected_version`, else ConcurrentUpdate."""
        ...


class Publisher(Protocol):
    """The bus, as the use cases see it. Raises `tollgate_servicekit.errors.BusUnavailable` without a PubAck."""

    async def publish_state(self, state: CredentialState) -> None:
        """Publish to JetStream and return once the server acknowledged it (PubAck)."""
        ...

    async def publish_audit(self, event: AuditEvent) -> None:
        """Publish an audit event to JetStream."""
        ...


class Tenants(Protocol):
    """The tenants auth has published (`tenant.state.v1.<tenant_id>`), as keyvault checks them before storing."""

    async def tenant(self, tenant_id: str) -> TenantState | None:
        """The tenant's last published state, None if there is none; `BusUnavailable` when it cannot be asked.

        `tenant_id` must already be one plain subject token (`tollgate_contracts.is_subject_token`).
        """
        ...


class UrlGuard(Protocol):
    """Where keyvault may let the proxy send a provider key: `tollgate_servicekit.egress.EgressGuard`."""

    async def check_url(self, url: str) -> object:
        """Return when `url` may be used; `tollgate_servicekit.egress.EgressRefused` (with a `reason`) if not."""
        ...
