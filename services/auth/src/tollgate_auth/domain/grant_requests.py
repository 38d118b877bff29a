"""A grant request's life: an app asks, the owner decides (or does not), and the decision is final.

```
           approve(req, granted, grant_id, now)
pending ─────────────────────────────────────▶ approved   (grant_id, granted details)
   │  └──────────────────────────────────────▶ denied     deny(req, now): stays on record
   └─────────────────────────────────────────▶ expired    expire_if_due(req, now): undecided past expires_at
```

Pure; the OAuth layer stores the requests. What the app polls for or exchanges is `ensure_approved`, which
answers with the RFC 8628 §3.5 error codes (`authorization_pending`, `access_denied`, `expired_token`); a
device that polls before its interval is over gets `slow_down` (`too_soon`), and its interval grows by
`SLOW_DOWN_STEP_SECONDS`. Device user codes (RFC 8628 §6.1): `new_user_code`, `normalize_user_code`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from tollgate_auth.domain.access import AccessDetails
from tollgate_auth.domain.errors import AccessDenied, AuthorizationPending, RequestDecided, RequestExpired, SlowDown
from tollgate_auth.domain.keywrap import RandomBytes

__all__ = [
    "DEFAULT_REQUEST_TTL_SECONDS",
    "SLOW_DOWN_STEP_SECONDS",
    "USER_CODE_ALPHABET",
    "PendingRequest",
    "RequestStatus",
    "approve",
    "deny",
    "effective_request_status",
    "ensure_approved",
    "expire_if_due",
    "new_request",
    "new_user_code",
    "normalize_user_code",
    "slow_down",
    "too_soon",
]

DEFAULT_REQUEST_TTL_SECONDS = 600
"""Undecided requests expire after ten minutes (the issue's default; RFC 8628's `expires_in`)."""
SLOW_DOWN_STEP_SECONDS = 5
"""RFC 8628 §3.5: after `slow_down` the device's interval grows by five seconds, for good."""
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
"""RFC 8628 §6.1: upper-case consonants only — no vowels (no words), no digits to mistake for letters."""
USER_CODE_LENGTH = 8
"""20**8 codes, about 34.6 bits: with a ten-minute life and polling limits, guessing one is hopeless."""


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


@dataclass(frozen=True)
class PendingRequest:
    """An app's request for a grant, until the owner decides or it expires. `params` is the OAuth layer's."""

    id: str
    client_id: str
    client_name: str
    asked: AccessDetails
    created_at: datetime
    expires_at: datetime
    status: RequestStatus = RequestStatus.PENDING
    tenant_id: str | None = None
    """The tenant the grant will belong to, when the request names one; else the deciding owner's."""
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """What the OAuth layer needs after the decision (redirect URI, state, PKCE challenge…); opaque here."""
    user_code: str | None = None
    """For a device request: the code the owner types on the verification page (`XXXX-XXXX`)."""
    granted: AccessDetails | None = None
    """What the owner approved (never more than `asked`)."""
    grant_id: str | None = None
    decided_at: datetime | None = None


def new_request(
    *,
    request_id: str,
    client_id: str,
    client_name: str,
    asked: AccessDetails,
    now: datetime,
    tenant_id: str | None = None,
    params: Mapping[str, str] | None = None,
    user_code: str | None = None,
    ttl_seconds: int = DEFAULT_REQUEST_TTL_SECONDS,
) -> PendingRequest:
    """A pending request, expiring `ttl_seconds` from `now`."""
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    return PendingRequest(
        id=request_id,
        client_id=client_id,
        client_name=client_name,
        asked=asked,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
        tenant_id=tenant_id,
        params=MappingProxyType(dict(params or {})),
        user_code=user_code,
    )


def effective_request_status(req: PendingRequest, now: datetime) -> RequestStatus:
    """The status a caller should see: a pending request past its expiry is expired, whatever is stored."""
    if req.status is RequestStatus.PENDING and now >= req.expires_at:
        return RequestStatus.EXPIRED
    return req.status


def approve(req: PendingRequest, granted: AccessDetails, grant_id: str, now: datetime) -> PendingRequest:
    """The approved request. Raises `RequestExpired` past its expiry and `RequestDecided` when decided before.

    `granted` is `narrowing.narrow`'s answer; this function does not narrow again.
    """
    _ensure_pending(req, now)
    return replace(req, status=RequestStatus.APPROVED, granted=granted, grant_id=grant_id, decided_at=now)


def deny(req: PendingRequest, now: datetime) -> PendingRequest:
    """The denied request (kept on record). Raises like `approve`."""
    _ensure_pending(req, now)
    return replace(req, status=RequestStatus.DENIED, decided_at=now)


def expire_if_due(req: PendingRequest, now: datetime) -> PendingRequest | None:
    """The expired request when it is pending and due, else None (nothing to change)."""
    if effective_request_status(req, now) is RequestStatus.EXPIRED and req.status is RequestStatus.PENDING:
        return replace(req, status=RequestStatus.EXPIRED, decided_at=req.expires_at)
    return None


def ensure_approved(req: PendingRequest, now: datetime) -> str:
    """The grant id of an approved request; otherwise raises what RFC 8628 §3.5 tells a polling device.

    `AuthorizationPending` (undecided), `AccessDenied` (denied), `RequestExpired` (`expired_token`). An
    approved request stays approved after `expires_at`: the grant exists and has its own expiry; whether its
    code or device code may still be used is the OAuth layer's rule (single use, short life).
    """
    status = effective_request_status(req, now)
    if status is RequestStatus.APPROVED and req.grant_id is not None:
        return req.grant_id
    if status is RequestStatus.DENIED:
        raise AccessDenied(f"the owner denied request {req.id}")
    if status is RequestStatus.EXPIRED:
        raise RequestExpired(f"request {req.id} expired before the owner decided; ask again")
    raise AuthorizationPending(f"request {req.id} is waiting for the owner")


def too_soon(last_polled_at: datetime | None, interval_seconds: int, now: datetime) -> bool:
    """True when a device polls before `interval_seconds` have passed since its last poll (answer `slow_down`).

    The caller then stores `interval_seconds + SLOW_DOWN_STEP_SECONDS` as the device's interval and raises
    `SlowDown`.
    """
    return last_polled_at is not None and now < last_polled_at + timedelta(seconds=interval_seconds)


def slow_down(request_id: str, interval_seconds: int) -> SlowDown:
    """The `slow_down` error for a device that polled too soon; `interval_seconds` is its new interval."""
    return SlowDown(f"request {request_id}: poll at most every {interval_seconds} seconds")


def new_user_code(random_bytes: RandomBytes) -> str:
    """A fresh user code `XXXX-XXXX` from `USER_CODE_ALPHABET`, unbiased (bytes past a multiple are redrawn)."""
    limit = 256 - 256 % len(USER_CODE_ALPHABET)
    chars: list[str] = []
    for _ in range(64):
        for byte in random_bytes(USER_CODE_LENGTH):
            if byte < limit and len(chars) < USER_CODE_LENGTH:
                chars.append(USER_CODE_ALPHABET[byte % len(USER_CODE_ALPHABET)])
        if len(chars) == USER_CODE_LENGTH:
            return _shown("".join(chars))
    raise ValueError("the randomness source keeps giving bytes that cannot be used")


def normalize_user_code(text: str) -> str | None:
    """The stored form (`XXXX-XXXX`) of what the owner typed — any case, dashes and spaces ignored — or None
    when it cannot be a user code (wrong length, a character outside the alphabet)."""
    if len(text) > 64:
        return None
    compact = "".join(ch for ch in text.upper() if ch not in "- \t")
    if len(compact) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in compact):
        return None
    return _shown(compact)


def _shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _ensure_pending(req: PendingRequest, now: datetime) -> None:
    status = effective_request_status(req, now)
    if status is RequestStatus.EXPIRED:
        raise RequestExpired(f"request {req.id} expired before it was decided; the app must ask again")
    if status is not RequestStatus.PENDING:
        raise RequestDecided(f"request {req.id} was already {status.value}")
