"""Unauthenticated routes beside servicekit's `/healthz` and `/readyz`: the JWKS."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tollgate_auth.api.deps import ServiceDep

router = APIRouter(tags=["public"])

JWKS_MAX_AGE = 60


@router.get("/.well-known/jwks.json")
async def jwks(service: ServiceDep) -> JSONResponse:
    """The public signing keys (JWKS) that verify delegated access tokens."""
    # Short caching: verifiers pick up a new key within a minute; the bus carries it at once.
    return JSONResponse(service.jwks(), headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"})
