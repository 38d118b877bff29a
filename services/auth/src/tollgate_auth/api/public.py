"""Unauthenticated routes beside servicekit's `/healthz` and `/readyz`: the JWKS."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tollgate_auth.api.deps import RuntimeDep, ServiceDep

router = APIRouter(tags=["public"])

JWKS_MAX_AGE = 60


@router.get("/.well-known/jwks.json")
async def jwks(service: ServiceDep, runtime: RuntimeDep) -> JSONResponse:
    """The public signing keys (JWKS) that verify delegated access tokens: the active key, a key about to sign,
    and retired keys until every token they signed has expired."""
    keys = await service.signing.fresh_jwks(runtime.settings.jwks_reload_seconds)
    # Short caching: verifiers pick up a new key within a minute (or at once for an unknown kid); the bus carries
    # it before it signs.
    return JSONResponse(keys, headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"})
