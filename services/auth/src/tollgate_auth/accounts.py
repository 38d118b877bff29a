"""Owner accounts and browser sessions: the use cases behind `POST /v1/users`, `tollgate user create` and the
sign-in page. No framework types.

Passwords are hashed with argon2id off the event loop (a hash takes tens of milliseconds by design). A session
cookie holds a random id; only its SHA-256 is stored, so a copy of the database signs no browser in. Nothing here
logs, audits or raises with a password or a session id in it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from tollgate_auth.adapters.passwords import Argon2Hasher
from tollgate_auth.domain import Tenant
from tollgate_auth.domain.errors import InvalidRequest
from tollgate_auth.domain.users import (
    SessionPolicy,
    SignInLimit,
    User,
    UserExists,
    check_password,
    new_session,
    new_user,
    normalise_email,
    parse_role,
    recent_failures,
    retry_after,
    session_live,
    touched,
)
from tollgate_auth.ports import AccountStore, Clock, Ids, PasswordHasher
from tollgate_auth.publishing import audit_event
from tollgate_contracts import AuditEvent
from tollgate_servicekit.redaction import clip

log = logging.getLogger(__name__)

DEFAULT_SESSIONS = SessionPolicy(idle_seconds=3600, absolute_seconds=43_200)


MAX_TRACKED_EMAILS = 10_000
"""Failed sign-ins are remembered in memory per replica; past this many emails the oldest entries go."""


class SignInThrottled(Exception):
    """Too many wrong passwords for this email lately; `retry_after` seconds until the next try."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after


def session_hash(session_id: str) -> str:
    """What the store keeps of a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class Accounts:
    """Users (tenant, role, argon2id hash) and their web sessions."""

    def __init__(
        self,
        store: AccountStore,
        clock: Clock,
        ids: Ids,
        tenant: Callable[[str | None], Awaitable[Tenant]],
        publish_audit: Callable[[AuditEvent], Awaitable[None]],
        hasher: PasswordHasher | None = None,
        policy: SessionPolicy | None = None,
    ) -> None:
        self.store = store
        self.hasher: PasswordHasher = hasher or Argon2Hasher()
        self.clock = clock
        self.ids = ids
        self.policy = policy or DEFAULT_SESSIONS
        self._tenant = tenant
        self._publish_audit = publish_audit
        self.sign_in_limit = SignInLimit()
        self._failures: dict[str, tuple[datetime, ...]] = {}

    # -- users ---------------------------------------------------------------------------------------------------

    async def create_user(self, email: str, password: str, role: str = "user", tenant_id: str | None = None) -> User:
        """A new owner account; `UserExists` (409) when the email is taken, `InvalidRequest` for a bad email,
        role or password (the message names the rule, never the password)."""
        address = normalise_email(email)
        chosen = parse_role(role)
        check_password(password, address)
        tenant = await self._tenant(tenant_id)
        if await self.store.user_by_email(address) is not None:
            # Checked first so a duplicate costs no hash; the unique index still decides a race.
            raise UserExists(f"a user with the email {clip(address)!r} already exists")
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        now = self.clock.now()
        user = new_user(
            address, chosen, password_hash=password_hash, user_id=self.ids.new_id("usr"), tenant_id=tenant.id, now=now
        )
        await self.store.add_user(user)
        details = {"email": user.email, "role": user.role.value}
        await self._publish_audit(self._audit("user.created", "admin", user.id, user.tenant_id, details))
        return user

    async def list_users(self, tenant_id: str | None = None) -> list[User]:
        return await self.store.list_users(tenant_id)

    async def authenticate(self, email: str, password: str) -> User | None:
        """The user whose email and password these are, else None. An unknown or malformed email costs the same
        hash time as a wrong password, so timing does not tell which emails have accounts. `SignInThrottled`
        after too many failures for the email (no hash is computed then: guessing costs the guesser time, not us).
        """
        try:
            address: str | None = normalise_email(email)
        except InvalidRequest:
            address = None
        key = address or email.strip().lower()[:254]
        now = self.clock.now()
        wait = retry_after(self._failures.get(key, ()), now, self.sign_in_limit)
        if wait is not None:
            log.info("sign-in throttled")
            raise SignInThrottled(wait)
        user = None if address is None else await self.store.user_by_email(address)
        stored = None if user is None else user.password_hash
        ok = await asyncio.to_thread(self.hasher.verify, stored, password)
        if not ok or user is None:
            log.info("sign-in refused")
            self._remember_failure(key, now)
            return None
        self._failures.pop(key, None)
        if self.hasher.needs_rehash(user.password_hash):
            fresh = await asyncio.to_thread(self.hasher.hash, password)
            await self.store.set_password_hash(user.id, fresh, self.clock.now())
        return user

    def _remember_failure(self, key: str, now: datetime) -> None:
        self._failures[key] = (*recent_failures(self._failures.pop(key, ()), now, self.sign_in_limit), now)
        while len(self._failures) > MAX_TRACKED_EMAILS:
            # Dicts keep insertion order and a failure re-inserts its key: the first key is the stalest.
            del self._failures[next(iter(self._failures))]

    # -- sessions ------------------------------------------------------------------------------------------------

    async def open_session(self, user: User) -> str:
        """A fresh session for `user`; returns the random id the cookie carries (shown nowhere else)."""
        session_id = self.ids.new_secret()
        now = self.clock.now()
        await self.store.add_web_session(new_session(session_hash(session_id), user.id, now))
        # Forgetting dead sessions here keeps the table small without a background task.
        await self.store.delete_web_sessions_before(
            now - timedelta(seconds=self.policy.absolute_seconds), now - timedelta(seconds=self.policy.idle_seconds)
        )
        await self._publish_audit(self._audit("user.signed_in", user.id, user.id, user.tenant_id, {}))
        return session_id

    async def session_user(self, session_id: str) -> User | None:
        """The user a live session signs in, else None (an unknown, idle or too old session is forgotten)."""
        id_hash = session_hash(session_id)
        session = await self.store.get_web_session(id_hash)
        if session is None:
            return None
        now = self.clock.now()
        if not session_live(session, now, self.policy):
            await self.store.delete_web_session(id_hash)
            return None
        if touched(session, now, self.policy) is not None:
            await self.store.touch_web_session(id_hash, now)
        return await self.store.get_user(session.user_id)

    async def close_session(self, session_id: str) -> None:
        await self.store.delete_web_session(session_hash(session_id))

    def _audit(
        self, action: str, actor: str, target_id: str, tenant_id: str | None, details: dict[str, Any]
    ) -> AuditEvent:
        return audit_event(self.clock, self.ids, action, actor, target_id, tenant_id, details)
