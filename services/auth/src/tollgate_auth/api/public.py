"""Unauthenticated routes: health, readiness and the JWKS."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tollgate_auth.api.deps import RuntimeDep, ServiceDep

router = APIRouter(tags=["public"])

JWKS_MAX_AGE = 60


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    problem = await runtime.readiness()
    if problem is None:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "starting", "detail": problem}, status_code=503)


@router.get("/.well-known/jwks.json")
async def jwks(service: ServiceDep) -> JSONResponse:
    # Short caching: verifiers pick up a new key within a minute; the bus carries it at once.
    return JSONResponse(service.jwks(), headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"})
