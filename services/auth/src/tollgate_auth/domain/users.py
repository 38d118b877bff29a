"""Owner accounts and their browser sessions: email rules, roles, password rules, session lifetimes.

Pure: no I/O, no hashing (the argon2id hasher is an adapter behind the `PasswordHasher` port); `now` and ids are
arguments. A password is never part of a message here: a rule it breaks is named, the value is not repeated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from tollgate_auth.domain.errors import Conflict, InvalidRequest
from tollgate_servicekit.redaction import clip

MAX_EMAIL = 254
"""RFC 5321's limit on a forward path, the usual cap on an address."""
MAX_LOCAL_PART = 64
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
"""Long passphrases are welcome; the cap only keeps one request from hashing a megabyte."""

# Deliberately plain: a dot-atom local part and a host name of letters, digits and hyphens. Quoted local parts
# and address literals are legal but are not what an owner types, and each one is a parser to get wrong.
_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class Role(StrEnum):
    """What an owner may do in a tenant (the dashboard and admin pages enforce it)."""

    ADMIN = "admin"
    DEVELOPER = "developer"
    USER = "user"
    READ_ONLY = "read-only"


class UserExists(Conflict):
    code = "user_exists"


@dataclass(frozen=True)
class SignInLimit:
    """At most `failures` wrong passwords per email within `window_seconds`; then no password is checked for that
    email until the oldest failure leaves the window. Per email, known or not, so the refusal tells nothing."""

    failures: int = 10
    window_seconds: int = 600


def recent_failures(failures: tuple[datetime, ...], now: datetime, limit: SignInLimit) -> tuple[datetime, ...]:
    """The failures still inside the window."""
    start = now - timedelta(seconds=limit.window_seconds)
    return tuple(f for f in failures if f > start)


def retry_after(failures: tuple[datetime, ...], now: datetime, limit: SignInLimit) -> int | None:
    """Seconds until a password may be tried again for an email with these failures; None when it may now."""
    recent = recent_failures(failures, now, limit)
    if len(recent) < limit.failures:
        return None
    oldest = sorted(recent)[-limit.failures]
    return max(1, int((oldest + timedelta(seconds=limit.window_seconds) - now).total_seconds()) + 1)


@dataclass(frozen=True)
class User:
    id: str
    tenant_id: str
    email: str
    role: Role
    password_hash: str = field(repr=False)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser. Only the SHA-256 of the cookie's random id is kept (`id_hash`)."""

    id_hash: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class SessionPolicy:
    idle_seconds: int
    absolute_seconds: int
    touch_after_seconds: int = 60
    """`last_seen_at` is written again only when older than this, so a page view is not always a write."""


def normalise_email(text: str) -> str:
    """The address as stored and compared: trimmed and lowercased; `InvalidRequest` unless it is a plain address.

    Lowercasing the local part is not what RFC 5321 promises, but two accounts differing only in case are a
    mistake or an attack in a sign-in form, never a wish.
    """
    email = text.strip().lower()
    if not email or len(email) > MAX_EMAIL or email.count("@") != 1:
        raise InvalidRequest(f"{clip(text)!r} is not an email address (name@example.com)")
    local, domain = email.split("@")
    labels = domain.split(".")
    if (
        len(local) > MAX_LOCAL_PART
        or not _LOCAL.fullmatch(local)
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
    ):
        raise InvalidRequest(f"{clip(text)!r} is not an email address (name@example.com)")
    return email


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidRequest(f"role must be one of {allowed}, not {clip(text)!r}") from None


def check_password(password: str, email: str) -> None:
    """`InvalidRequest` naming the broken rule (never the password). Length is what counts (NIST SP 800-63B):
    at least 12 characters, not the email address, not one character repeated."""
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidRequest(f"the password must have at most {MAX_PASSWORD} characters")
    if password.strip().lower() in {email, email.split("@")[0]}:
        raise InvalidRequest("the password must not be the email address")
    if len(set(password)) == 1:
        raise InvalidRequest("the password must not be one character repeated")


def new_user(email: str, role: Role, *, password_hash: str, user_id: str, tenant_id: str, now: datetime) -> User:
    """A user from an already normalised email and an already computed hash."""
    return User(user_id, tenant_id, email, role, password_hash, now, now)


def new_session(id_hash: str, user_id: str, now: datetime) -> WebSession:
    return WebSession(id_hash, user_id, now, now)


def session_live(session: WebSession, now: datetime, policy: SessionPolicy) -> bool:
    """Whether the session still signs its browser in: idle less than `idle_seconds` and younger than
    `absolute_seconds` (the absolute limit holds however active the browser is)."""
    idle = now - session.last_seen_at >= timedelta(seconds=policy.idle_seconds)
    old = now - session.created_at >= timedelta(seconds=policy.absolute_seconds)
    return not (idle or old)


def touched(session: WebSession, now: datetime, policy: SessionPolicy) -> WebSession | None:
    """The session seen at `now`, or None when the stored `last_seen_at` is recent enough to leave alone."""
    if now - session.last_seen_at < timedelta(seconds=policy.touch_after_seconds):
        return None
    return replace(session, last_seen_at=now)
