"""What the auth use cases need from the outside world, as Protocols. Adapters and `testing` implement them.

`Clock` and `Ids` are servicekit's (`SystemClock`/`RandomIds`, fakes in `tollgate_servicekit.testing`); the
`Publisher` is servicekit's `Bus`, or `testing.RecordingPublisher`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from tollgate_auth.domain import ApiKey, Grant, SigningKey, Tenant
from tollgate_auth.domain.users import User, WebSession
from tollgate_contracts import Event
from tollgate_servicekit.clock import Clock, Ids

__all__ = [
    "AccountStore",
    "ApiKeyStore",
    "Clock",
    "GrantStore",
    "Ids",
    "PasswordHasher",
    "Publisher",
    "Signer",
    "SigningKeyStore",
    "Store",
    "TenantStore",
]


class TenantStore(Protocol):
    async def add_tenant(self, tenant: Tenant) -> None:
        """Insert; raises `TenantExists` when the name is taken."""
        ...

    async def get_tenant(self, tenant_id: str) -> Tenant | None: ...

    async def tenant_by_name(self, name: str) -> Tenant | None: ...

    async def list_tenants(self) -> list[Tenant]: ...

    async def get_consent_template(self, tenant_id: str) -> dict[str, object] | None:
        """The tenant's stored consent template (`domain/templates.py`'s JSON); None when it has none."""
        ...

    async def set_consent_template(self, tenant_id: str, template: dict[str, object] | None) -> bool:
        """Store (None: clear) the tenant's consent template; False when there is no such tenant."""
        ...


class GrantStore(Protocol):
    async def add_grant(self, grant: Grant) -> None: ...

    async def get_grant(self, grant_id: str) -> Grant | None: ...

    async def list_grants(self, tenant_id: str | None = None) -> list[Grant]:
        """Grants, oldest first, optionally of one tenant."""
        ...

    async def update_grant(self, grant_id: str, change: Callable[[Grant], Grant | None]) -> tuple[Grant, bool]:
        """Apply `change` atomically: it gets the current grant and returns the next one (version + 1) or None.

        Returns the grant as stored afterwards and whether it changed; raises `GrantNotFound`.
        `change` may run more than once when a concurrent writer got there first.
        """
        ...


class ApiKeyStore(Protocol):
    async def add_api_key(self, key: ApiKey) -> None: ...

    async def get_api_key(self, key_id: str) -> ApiKey | None: ...

    async def list_api_keys(self, grant_id: str | None = None) -> list[ApiKey]: ...

    async def update_api_key(self, key_id: str, change: Callable[[ApiKey], ApiKey | None]) -> tuple[ApiKey, bool]:
        """As `update_grant`, for API keys; raises `ApiKeyNotFound`."""
        ...


class SigningKeyStore(Protocol):
    async def add_signing_key(self, key: SigningKey) -> None: ...

    async def list_signing_keys(self) -> list[SigningKey]:
        """Every key, oldest first."""
        ...

    async def update_signing_key(
        self, kid: str, change: Callable[[SigningKey], SigningKey | None]
    ) -> tuple[SigningKey, bool]:
        """As `update_grant`, for signing keys (rotation's activate, retire, finalize); `NotFound` if none."""
        ...


class AccountStore(Protocol):
    """Owner accounts and their browser sessions (`domain.users`)."""

    async def add_user(self, user: User) -> None:
        """Insert; raises `UserExists` when the email is taken (in any tenant)."""
        ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def user_by_email(self, email: str) -> User | None: ...

    async def list_users(self, tenant_id: str | None = None) -> list[User]: ...

    async def set_password_hash(self, user_id: str, password_hash: str, now: datetime) -> None: ...

    async def add_web_session(self, session: WebSession) -> None: ...

    async def get_web_session(self, id_hash: str) -> WebSession | None: ...

    async def touch_web_session(self, id_hash: str, now: datetime) -> None: ...

    async def delete_web_session(self, id_hash: str) -> None: ...

    async def delete_web_sessions_before(self, created_before: datetime, seen_before: datetime) -> int: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; None (an unknown user) costs the same time and is False."""
        ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class Store(TenantStore, GrantStore, ApiKeyStore, SigningKeyStore, AccountStore, Protocol):
    """Everything auth keeps durably."""

    async def ping(self) -> None:
        """Raise unless the database answers."""
        ...


class Publisher(Protocol):
    @property
    def is_connected(self) -> bool: ...

    async def publish(self, event: Event) -> object:
        """Publish to JetStream and wait for its PubAck; raises `BusUnavailable` when none comes."""
        ...


class Signer(Protocol):
    def generate(self, now: datetime) -> SigningKey:
        """A fresh active signing key."""
        ...

    def sign(self, claims: Mapping[str, str | int], key: SigningKey, *, typ: str | None = None) -> str:
        """A compact JWT over `claims`, signed by `key`, with its `kid` (and `typ`, if given) in the header."""
        ...
