"""In-memory fakes of keyvault's ports, and helpers to run the app in-process, for this service's tests and for
other services' tests.

The clock and ids fakes are servicekit's (`tollgate_servicekit.testing.FixedClock`, `SequentialIds`).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import nats
from fastapi import FastAPI
from pydantic import SecretStr

from tollgate_contracts import AuditEvent, CredentialState, TenantState, TenantStatus, utcnow
from tollgate_contracts.streams import TENANTS
from tollgate_keyvault.domain.credential import Credential
from tollgate_keyvault.domain.envelope import KEY_BYTES, Kek, Keyring
from tollgate_keyvault.domain.errors import ConcurrentUpdate, CredentialNotFound, InvalidInput
from tollgate_keyvault.runtime import Runtime
from tollgate_keyvault.settings import Settings
from tollgate_servicekit.egress import Resolver
from tollgate_servicekit.errors import BusUnavailable, StoreUnavailable
from tollgate_servicekit.keyring import new_kek_text
from tollgate_servicekit.testing import eventually


class InMemoryCredentialStore:
    """`CredentialStore` in a dict, with the same not-found and concurrency behaviour as the SQL one; set
    `unavailable` to make every call fail like a database that is down."""

    def __init__(self) -> None:
        self.rows: dict[str, Credential] = {}
        self.unavailable = False

    def _check(self) -> None:
        if self.unavailable:
            raise StoreUnavailable("test database is down")

    async def add(self, credential: Credential) -> None:
        self._check()
        if credential.id in self.rows:
            raise InvalidInput(f"credential {credential.id} already exists")
        self.rows[credential.id] = credential

    async def get(self, credential_id: str) -> Credential:
        self._check()
        try:
            return self.rows[credential_id]
        except KeyError:
            raise CredentialNotFound(credential_id) from None

    async def list(self, tenant_id: str | None = None) -> Sequence[Credential]:
        self._check()
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


def tenant_state(
    tenant_id: str, status: TenantStatus = TenantStatus.ACTIVE, *, version: int = 1, producer: str = "auth"
) -> TenantState:
    """A tenant's state as auth publishes it."""
    return TenantState(
        producer=producer,
        state_version=version,
        tenant_id=tenant_id,
        name=f"tenant {tenant_id}",
        status=status,
        created_at=utcnow(),
    )


@dataclass
class KnownTenants:
    """`Tenants` from a dict, as if auth had published them; set `unavailable` to fail like a bus that is down."""

    states: dict[str, TenantState] = field(default_factory=dict)
    unavailable: bool = False

    def add(self, tenant_id: str, status: TenantStatus = TenantStatus.ACTIVE, **options: Any) -> None:
        self.states[tenant_id] = tenant_state(tenant_id, status, **options)

    async def tenant(self, tenant_id: str) -> TenantState | None:
        if self.unavailable:
            raise BusUnavailable("test bus is down")
        return self.states.get(tenant_id)


async def publish_tenants(nats_url: str, *states: TenantState) -> None:
    """Publish tenant states on a real server, as auth does (the URL's user must be allowed: the test harness)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for state in states:
            await js.publish(state.subject, state.model_dump_json().encode(), stream=TENANTS.name)
    finally:
        await nc.drain()


def fixed_resolver(answers: Mapping[str, Sequence[str]]) -> Resolver:
    """A resolver for `EgressGuard` answering from `answers` (host → addresses), no DNS; OSError otherwise."""

    async def resolve(host: str, port: int) -> list[str]:
        try:
            return list(answers[host])
        except KeyError:
            raise OSError(f"{host} does not resolve") from None

    return resolve


def random_kek(kek_id: str = "k1") -> Kek:
    """A fresh random KEK."""
    return Kek(kek_id, secrets.token_bytes(KEY_BYTES))


def random_keyring(kek_id: str = "k1") -> Keyring:
    """A keyring with one fresh random KEK."""
    return Keyring(random_kek(kek_id))


def settings_for_tests(
    nats_url: str, database_url: str, database_schema: str | None, *, admin_key: str, **overrides: Any
) -> Settings:
    """Settings of an in-process keyvault: the given bus and database, a fresh random KEK, quick retries."""
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "database_url": database_url,
        "database_schema": database_schema or "keyvault",
        "admin_key": SecretStr(admin_key),
        "kek": SecretStr(new_kek_text()),
        "retry_seconds": 0.05,
        **overrides,
    }
    return Settings(**values)


@contextlib.asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[FastAPI]:
    """`app` with its lifespan entered, once its `/readyz` would answer ready."""
    async with app.router.lifespan_context(app):

        async def ready() -> bool:
            runtime: Runtime = app.state.runtime
            return await runtime.readiness() is None

        await eventually(ready, what="keyvault to be ready")
        yield app
