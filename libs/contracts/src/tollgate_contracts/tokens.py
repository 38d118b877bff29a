"""Token-related state: the JWKS signing keys and revoked token ids, published by auth."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from tollgate_contracts.envelope import StateEvent

TOKEN_ISSUER = "http://127.0.0.1:8081"
"""Default `iss` claim of delegated tokens: auth's public URL (RFC 8414 issuer; configurable per deployment)."""
TOKEN_AUDIENCE = "http://127.0.0.1:8080"
"""Default `aud` claim of delegated tokens: the proxy's canonical URL, the resource (RFC 8707/9728)."""


class SigningKeyStatus(StrEnum):
    """`active` keys sign and verify; `retired` keys only verify until their tokens expire."""

    ACTIVE = "active"
    RETIRED = "retired"


class SigningKeyState(StateEvent):
    """One public signing key (a JWK), on `jwks.state.v1.<kid>`."""

    subject_prefix: ClassVar[str] = "jwks.state.v1"

    kid: str = Field(description="Key id, the `kid` header of tokens it signed.")
    alg: str = Field(default="EdDSA", description="The only algorithm tokens with this `kid` may use.")
    jwk: dict[str, str] = Field(description="The public key as a JWK (`kty`, `crv`, `x`, `kid`, `alg`, `use`).")
    status: SigningKeyStatus = Field(description="Whether the key still signs.")
    not_after: datetime | None = Field(default=None, description="After this, tokens signed by it are refused.")

    @property
    def key(self) -> str:
        return self.kid


class TokenRevoked(StateEvent):
    """A revoked token id, on `token.revoked.v1.<jti>`, kept until the token would have expired anyway."""

    subject_prefix: ClassVar[str] = "token.revoked.v1"

    jti: str = Field(description="The revoked token's `jti`.")
    grant_id: str = Field(description="The grant the token was minted for.")
    expires_at: datetime = Field(description="The token's own expiry; after it, this record can be dropped.")

    @property
    def key(self) -> str:
        return self.jti
