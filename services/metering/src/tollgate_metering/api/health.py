"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tollgate_metering.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """200 while the process lives."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(runtime: RuntimeDep) -> dict[str, str] | JSONResponse:
    """200 once the database answers, NATS is connected, streams are ensured and the grants replayed."""
    problem = await runtime.check()
    if problem is not None:
        return JSONResponse({"status": "starting", "detail": problem}, status_code=503)
    return {"status": "ready"}
