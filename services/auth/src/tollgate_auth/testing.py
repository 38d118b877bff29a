"""In-memory fakes of auth's ports and a random keyring, for tests here and in other packages.

The clock and ids fakes are servicekit's: `tollgate_servicekit.testing.FixedClock` and `SequentialIds`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from tollgate_auth.domain import ApiKey, Grant, SigningKey, Tenant
from tollgate_auth.domain.errors import ApiKeyNotFound, BusUnavailable, GrantNotFound, TenantExists
from tollgate_auth.domain.signing_keys import SigningKeyNotFound
from tollgate_auth.domain.users import User, UserExists, WebSession
from tollgate_contracts import Event
from tollgate_servicekit.keyring import KEY_BYTES, Kek, Keyring
from tollgate_servicekit.redaction import clip


def random_keyring(kek_id: str = "k1") -> Keyring:
    """A keyring holding one fresh random KEK."""
    return Keyring(Kek(kek_id, secrets.token_bytes(KEY_BYTES)))


class RecordingPublisher:
    """Keeps what was published; `connected = False` or `failing = True` simulate a bus outage."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.connected = True
        self.failing = False

    @property
    def is_connected(self) -> bool:
        return self.connected

    async def publish(self, event: Event) -> None:
        if self.failing or not self.connected:
            raise BusUnavailable(f"no PubAck for {event.subject}: simulated outage")
        self.events.append(event)

    def on(self, subject: str) -> list[Event]:
        return [e for e in self.events if e.subject == subject]


class InMemoryAccounts:
    """The `AccountStore` part of `InMemoryStore`: emails unique across tenants, as in the SQL store."""

    users: dict[str, User]
    web_sessions: dict[str, WebSession]

    async def add_user(self, user: User) -> None:
        if any(u.email == user.email for u in self.users.values()):
            raise UserExists(f"a user with the email {clip(user.email)!r} already exists")
        self.users[user.id] = user

    async def get_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    async def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email == email), None)

    async def list_users(self, tenant_id: str | None = None) -> list[User]:
        found = [u for u in self.users.values() if tenant_id is None or u.tenant_id == tenant_id]
        return sorted(found, key=lambda u: (u.created_at, u.id))

    async def set_password_hash(self, user_id: str, password_hash: str, now: datetime) -> None:
        if user_id in self.users:
            self.users[user_id] = replace(self.users[user_id], password_hash=password_hash, updated_at=now)

    async def add_web_session(self, session: WebSession) -> None:
        self.web_sessions[session.id_hash] = session

    async def get_web_session(self, id_hash: str) -> WebSession | None:
        return self.web_sessions.get(id_hash)

    async def touch_web_session(self, id_hash: str, now: datetime) -> None:
        if id_hash in self.web_sessions:
            self.web_sessions[id_hash] = replace(self.web_sessions[id_hash], last_seen_at=now)

    async def delete_web_session(self, id_hash: str) -> None:
        self.web_sessions.pop(id_hash, None)

    async def delete_web_sessions_before(self, created_before: datetime, seen_before: datetime) -> int:
        sessions = self.web_sessions.items()
        gone = [k for k, v in sessions if v.created_at < created_before or v.last_seen_at < seen_before]
        for key in gone:
            del self.web_sessions[key]
        return len(gone)


class InMemoryStore(InMemoryAccounts):
    """The `Store` port in dictionaries; same contract as the SQL store."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.consent_templates: dict[str, dict[str, object]] = {}
        self.grants: dict[str, Grant] = {}
        self.api_keys: dict[str, ApiKey] = {}
        self.signing_keys: dict[str, SigningKey] = {}
        self.users: dict[str, User] = {}
        self.web_sessions: dict[str, WebSession] = {}

    async def ping(self) -> None:
        return None

    async def add_tenant(self, tenant: Tenant) -> None:
        if any(t.name == tenant.name for t in self.tenants.values()):
            raise TenantExists(f"a tenant named {clip(tenant.name)!r} already exists")
        self.tenants[tenant.id] = tenant

    async def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    async def tenant_by_name(self, name: str) -> Tenant | None:
        return next((t for t in self.tenants.values() if t.name == name), None)

    async def list_tenants(self) -> list[Tenant]:
        return sorted(self.tenants.values(), key=lambda t: (t.created_at, t.id))

    async def get_consent_template(self, tenant_id: str) -> dict[str, object] | None:
        return self.consent_templates.get(tenant_id)

    async def set_consent_template(self, tenant_id: str, template: dict[str, object] | None) -> bool:
        if tenant_id not in self.tenants:
            return False
        if template is None:
            self.consent_templates.pop(tenant_id, None)
        else:
            self.consent_templates[tenant_id] = dict(template)
        return True

    async def add_grant(self, grant: Grant) -> None:
        self.grants[grant.id] = grant

    async def get_grant(self, grant_id: str) -> Grant | None:
        return self.grants.get(grant_id)

    async def list_grants(self, tenant_id: str | None = None) -> list[Grant]:
        found = [g for g in self.grants.values() if tenant_id is None or g.tenant_id == tenant_id]
        return sorted(found, key=lambda g: (g.created_at, g.id))

    async def update_grant(self, grant_id: str, change: Callable[[Grant], Grant | None]) -> tuple[Grant, bool]:
        current = self.grants.get(grant_id)
        if current is None:
            raise GrantNotFound(f"no grant {clip(grant_id)!r}")
        following = change(current)
        if following is None:
            return current, False
        self.grants[grant_id] = following
        return following, True

    async def add_api_key(self, key: ApiKey) -> None:
        self.api_keys[key.id] = key

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        return self.api_keys.get(key_id)

    async def list_api_keys(self, grant_id: str | None = None) -> list[ApiKey]:
        found = [k for k in self.api_keys.values() if grant_id is None or k.grant_id == grant_id]
        return sorted(found, key=lambda k: (k.created_at, k.id))

    async def update_api_key(self, key_id: str, change: Callable[[ApiKey], ApiKey | None]) -> tuple[ApiKey, bool]:
        current = self.api_keys.get(key_id)
        if current is None:
            raise ApiKeyNotFound(f"no API key {clip(key_id)!r}")
        following = change(current)
        if following is None:
            return current, False
        self.api_keys[key_id] = following
        return following, True

    async def add_signing_key(self, key: SigningKey) -> None:
        self.signing_keys[key.kid] = key

    async def list_signing_keys(self) -> list[SigningKey]:
        return sorted(self.signing_keys.values(), key=lambda k: k.created_at)

    async def update_signing_key(
        self, kid: str, change: Callable[[SigningKey], SigningKey | None]
    ) -> tuple[SigningKey, bool]:
        current = self.signing_keys.get(kid)
        if current is None:
            raise SigningKeyNotFound(f"no signing key {clip(kid)!r}")
        following = change(current)
        if following is None:
            return current, False
        self.signing_keys[kid] = following
        return following, True
