"""Delegated-token claims. Signing is an adapter's job; deciding what the token says is not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tollgate_auth.domain.errors import InvalidRequest
from tollgate_auth.domain.grants import Grant, ensure_usable


@dataclass(frozen=True)
class TokenPolicy:
    issuer: str
    audience: str
    default_ttl_seconds: int
    max_ttl_seconds: int


def token_ttl(requested: int | None, policy: TokenPolicy) -> int:
    if requested is None:
        return policy.default_ttl_seconds
    if isinstance(requested, bool) or not 0 < requested <= policy.max_ttl_seconds:
        raise InvalidRequest(f"ttl_seconds: must be from 1 to {policy.max_ttl_seconds}")
    return requested


def token_claims(
    grant: Grant, *, now: datetime, ttl_seconds: int | None, jti: str, policy: TokenPolicy
) -> dict[str, str | int]:
    """The claims of a token for `grant`: `sub` is the grant, `tid` its tenant.

    A token never outlives its grant: `exp` is capped at the grant's expiry.
    """
    ensure_usable(grant, now)
    issued = int(now.timestamp())
    expires = issued + token_ttl(ttl_seconds, policy)
    if grant.expires_at is not None:
        expires = min(expires, int(grant.expires_at.timestamp()))
    return {
        "iss": policy.issuer,
        "aud": policy.audience,
        "sub": grant.id,
        "tid": grant.tenant_id,
        "jti": jti,
        "iat": issued,
        "nbf": issued,
        "exp": expires,
    }
