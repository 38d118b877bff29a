"""In-memory fakes of keyvault's ports, for this service's tests and for other services' tests."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tollgate_contracts import AuditEvent, CredentialState
from tollgate_keyvault.domain.credential import Credential
from tollgate_keyvault.domain.envelope import KEY_BYTES, Kek, Keyring
from tollgate_keyvault.domain.errors import BusUnavailable, ConcurrentUpdate, CredentialNotFound, InvalidInput


class InMemoryCredentialStore:
    """`CredentialStore` in a dict, with the same not-found and concurrency behaviour as the SQL one."""

    def __init__(self) -> None:
        self.rows: dict[str, Credential] = {}

    async def add(self, credential: Credential) -> None:
        if credential.id in self.rows:
            raise InvalidInput(f"credential {credential.id} already exists")
        self.rows[credential.id] = credential

    async def get(self, credential_id: str) -> Credential:
        try:
            return self.rows[credential_id]
        except KeyError:
            raise CredentialNotFound(credential_id) from None

    async def list(self, tenant_id: str | None = None) -> Sequence[Credential]:
        found = [c for c in self.rows.values() if tenant_id is None or c.tenant_id == tenant_id]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    async def replace(self, credential: Credential, expected_version: int) -> None:
        current = await self.get(credential.id)
        if current.version != expected_version:
            raise ConcurrentUpdate(credential.id)
        self.rows[credential.id] = credential


@dataclass
class RecordingPublisher:
    """`Publisher` that keeps what it was given; set `failing` to make every publish fail like a lost bus."""

    states: list[CredentialState] = field(default_factory=list)
    audits: list[AuditEvent] = field(default_factory=list)
    failing: bool = False

    async def publish_state(self, state: CredentialState) -> None:
        if self.failing:
            raise BusUnavailable("test bus is down")
        self.states.append(state)

    async def publish_audit(self, event: AuditEvent) -> None:
        if self.failing:
            raise BusUnavailable("test bus is down")
        self.audits.append(event)


@dataclass
class FixedClock:
    """A clock that only moves when told to."""

    now: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class SequentialIds:
    """Ids `crd_000001`, `crd_000002`, … in order."""

    count: int = 0

    def __call__(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count:06d}"


def random_kek(kek_id: str = "k1") -> Kek:
    """A fresh random KEK."""
    return Kek(kek_id, secrets.token_bytes(KEY_BYTES))


def random_keyring(kek_id: str = "k1") -> Keyring:
    """A keyring with one fresh random KEK."""
    return Keyring(random_kek(kek_id))
