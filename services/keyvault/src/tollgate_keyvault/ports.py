"""What the keyvault use cases need from the outside world, as Protocols (adapters and fakes implement them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from tollgate_contracts import AuditEvent, CredentialState
from tollgate_keyvault.domain.credential import Credential


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
    """The bus, as the use cases see it."""

    async def publish_state(self, state: CredentialState) -> None:
        """Publish to JetStream and return once the server acknowledged it (PubAck)."""
        ...

    async def publish_audit(self, event: AuditEvent) -> None:
        """Publish an audit event to JetStream."""
        ...


class Clock(Protocol):
    def __call__(self) -> datetime:
        """The current time, aware UTC."""
        ...


class IdFactory(Protocol):
    def __call__(self, prefix: str) -> str:
        """A new id with this prefix (`crd`)."""
        ...
