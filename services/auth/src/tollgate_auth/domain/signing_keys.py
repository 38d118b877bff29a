"""Token signing keys and the JWKS built from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tollgate_contracts import SigningKeyState, SigningKeyStatus


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    public_jwk: Mapping[str, str]
    """The public key as a JWK, with `kid`, `alg` and `use` set."""
    private_pem: str = field(repr=False)
    """PKCS#8 PEM of the private key. Never published, never logged."""
    status: SigningKeyStatus
    created_at: datetime
    updated_at: datetime
    not_after: datetime | None
    version: int


def verifies(key: SigningKey, now: datetime) -> bool:
    """Whether tokens signed by `key` may still be accepted."""
    return key.not_after is None or key.not_after > now


def current_signer(keys: Iterable[SigningKey]) -> SigningKey | None:
    """The newest active key, which signs new tokens."""
    active = [k for k in keys if k.status is SigningKeyStatus.ACTIVE]
    return max(active, key=lambda k: (k.created_at, k.kid), default=None)


def jwks(keys: Iterable[SigningKey], now: datetime) -> dict[str, list[dict[str, str]]]:
    """The public JWK set: every key whose tokens may still be accepted."""
    return {"keys": [dict(k.public_jwk) for k in keys if verifies(k, now)]}


def signing_key_state(key: SigningKey, producer: str) -> SigningKeyState:
    return SigningKeyState(
        producer=producer,
        occurred_at=key.updated_at,
        state_version=key.version,
        kid=key.kid,
        alg=key.alg,
        jwk=dict(key.public_jwk),
        status=key.status,
        not_after=key.not_after,
    )
