"""`/v1/signing-keys` (admin): the token signing keys and their rotation. Private halves never leave auth."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from tollgate_auth.api.deps import ServiceDep, require_admin
from tollgate_auth.domain.signing_keys import KeyPhase, SigningKey

router = APIRouter(tags=["signing keys"], dependencies=[Depends(require_admin)])


class SigningKeyOut(BaseModel):
    kid: str = Field(description="Key id: the `kid` header of the tokens it signs (an RFC 7638 thumbprint).")
    alg: str = Field(description="Signature algorithm (EdDSA).")
    status: KeyPhase = Field(
        description="`pending` (published, not signing yet), `active` (signs), `retiring` (verifies until "
        "`not_after`, still in the JWKS) or `retired` (no longer published)."
    )
    created_at: datetime
    not_after: datetime | None = Field(description="Tokens it signed are refused after this (retired keys only).")

    @classmethod
    def of(cls, key: SigningKey, status: KeyPhase) -> SigningKeyOut:
        return cls(kid=key.kid, alg=key.alg, status=status, created_at=key.created_at, not_after=key.not_after)


class SigningKeysOut(BaseModel):
    data: list[SigningKeyOut] = Field(description="Every key, newest first.")


class RotatedOut(SigningKeysOut):
    kid: str = Field(description="The new signing key, which signs every token issued from now on.")


@router.get("/v1/signing-keys")
async def list_signing_keys(service: ServiceDep) -> SigningKeysOut:
    """Every signing key and where it is in its life (the JWKS publishes the pending, active and retiring ones)."""
    return SigningKeysOut(data=[SigningKeyOut.of(k, p) for k, p in service.signing.described()])


@router.post("/v1/signing-keys/rotate")
async def rotate_signing_key(service: ServiceDep) -> RotatedOut:
    """Rotate now: a new key is published on the bus (acknowledged) before it signs anything; the previous key
    retires and stays in the JWKS until every token it signed has expired. 503 (nothing changed that signs)
    when the bus does not acknowledge the new key."""
    key = await service.rotate_signing_key()
    return RotatedOut(kid=key.kid, data=[SigningKeyOut.of(k, p) for k, p in service.signing.described()])
