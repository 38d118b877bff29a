"""Test data: state events as their owners publish them, a usage record as the proxy publishes it, and a signing
key that mints delegated tokens.

The signer is a test's own Ed25519 key whose public JWK is published as
SigningKeyState: test data standing where auth would be, not a mock of auth.
Every builder takes keyword changes to any field.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from tollgate_contracts import (
    TOKEN_AUDIENCE,
    TOKEN_ISSUER,
    ApiKeyState,
    ApiKeyStatus,
    BreakerState,
    BreakerStatus,
    BudgetState,
    Capability,
    CredentialState,
    CredentialStatus,
    GrantState,
    GrantStatus,
    SigningKeyState,
    SigningKeyStatus,
    TokenRevoked,
    UsageRecorded,
    new_id,
)

TENANT = "tnt_1"
GRANT = "grt_1"


def make_grant(**changes: Any) -> GrantState:
    """An active OpenAI chat grant for gpt-4o-mini, as auth publishes it."""
    fields: dict[str, Any] = {
        "producer": "auth",
        "state_version": 1,
        "grant_id": GRANT,
        "tenant_id": TENANT,
        "status": GrantStatus.ACTIVE,
        "provider": "openai",
        "models": ("gpt-4o-mini",),
        "capabilities": (Capability.CHAT,),
        "created_at": datetime.now(UTC) - timedelta(minutes=1),
    }
    fields.update(changes)
    return GrantState(**fields)


def make_credential(**changes: Any) -> CredentialState:
    """An active OpenAI credential of the tenant, as keyvault publishes it."""
    fields: dict[str, Any] = {
        "producer": "keyvault",
        "state_version": 1,
        "credential_id": "crd_1",
        "tenant_id": TENANT,
        "provider": "openai",
        "api_style": "openai",
        "base_url": "http://127.0.0.1:1",
        "last4": "abcd",
        "status": CredentialStatus.ACTIVE,
    }
    fields.update(changes)
    return CredentialState(**fields)


def make_budget(**changes: Any) -> BudgetState:
    """The grant's budget state with nothing spent, as metering publishes it."""
    fields: dict[str, Any] = {
        "producer": "metering",
        "state_version": 1,
        "grant_id": GRANT,
        "spent_micro_usd": 0,
        "requests": 0,
        "exhausted": False,
    }
    fields.update(changes)
    return BudgetState(**fields)


def make_breaker(**changes: Any) -> BreakerState:
    """An open spend breaker on the grant, as metering publishes it."""
    fields: dict[str, Any] = {
        "producer": "metering",
        "state_version": 1,
        "scope": f"grant-{GRANT}",
        "status": BreakerStatus.OPEN,
    }
    fields.update(changes)
    return BreakerState(**fields)


def make_usage(request_id: str = "req_1", **changes: Any) -> UsageRecorded:
    """A finished gpt-4o-mini chat call on the grant (3 tokens in, 4 out), as a proxy replica publishes it."""
    fields: dict[str, Any] = {
        "producer": "proxy/prx_a",
        "request_id": request_id,
        "grant_id": GRANT,
        "tenant_id": TENANT,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "capability": Capability.CHAT,
        "input_tokens": 3,
        "output_tokens": 4,
        "status_code": 200,
        "started_at": datetime.now(UTC),
        "duration_ms": 5,
    }
    fields.update(changes)
    return UsageRecorded(**fields)


def make_api_key(key: str, **changes: Any) -> ApiKeyState:
    """An active API key bound to the grant, by the SHA-256 of `key`, as auth publishes it."""
    fields: dict[str, Any] = {
        "producer": "auth",
        "state_version": 1,
        "key_hash": hashlib.sha256(key.encode()).hexdigest(),
        "key_prefix": key[:7],
        "grant_id": GRANT,
        "tenant_id": TENANT,
        "status": ApiKeyStatus.ACTIVE,
    }
    fields.update(changes)
    return ApiKeyState(**fields)


def make_revocation(jti: str, **changes: Any) -> TokenRevoked:
    """A revoked token id, kept until the token's own expiry, as auth publishes it."""
    fields: dict[str, Any] = {
        "producer": "auth",
        "state_version": 1,
        "jti": jti,
        "grant_id": GRANT,
        "expires_at": datetime.now(UTC) + timedelta(minutes=15),
    }
    fields.update(changes)
    return TokenRevoked(**fields)


class Signer:
    """An Ed25519 key that signs delegated tokens the way auth does."""

    def __init__(self, kid: str = "k-test", issuer: str = TOKEN_ISSUER, audience: str = TOKEN_AUDIENCE) -> None:
        self.kid = kid
        self.issuer = issuer
        self.audience = audience
        self.private_key = Ed25519PrivateKey.generate()

    def jwk(self) -> dict[str, str]:
        jwk: dict[str, str] = OKPAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}

    def state(self, version: int = 1, **changes: Any) -> SigningKeyState:
        """The key's public half as auth publishes it on `jwks.state.v1.<kid>`."""
        fields: dict[str, Any] = {
            "producer": "auth",
            "state_version": version,
            "kid": self.kid,
            "jwk": self.jwk(),
            "status": SigningKeyStatus.ACTIVE,
        }
        fields.update(changes)
        return SigningKeyState(**fields)

    def claims(self, grant_id: str, tenant_id: str, ttl: int = 900, **changes: Any) -> dict[str, Any]:
        """A delegated token's claims (a change to None drops the claim)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": grant_id,
            "tid": tenant_id,
            "jti": new_id("jti"),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, grant_id: str = GRANT, tenant_id: str = TENANT, **changes: Any) -> str:
        return self.sign(self.claims(grant_id, tenant_id, **changes))

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid, **(headers or {})})
