"""`/healthz` (the process answers) and `/readyz` (it can serve), the same on every service."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tollgate_servicekit.supervisor import describe

logger = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[str | None]]


def health_router(readiness: Readiness) -> APIRouter:
    """`GET /healthz` → 200 `{"status": "ok"}` always; `GET /readyz` → 200 `{"status": "ready"}` when
    `readiness()` returns None, else 503 `{"status": "starting", "detail": <what it returned>}`."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: 200 whenever the process answers at all."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """Readiness: 200 `ready` when the service can serve, else 503 `starting` with what it waits for."""
        try:
            detail = await readiness()
        except Exception as exc:
            # A readiness check that fails is an answer too: not ready, and why (never a traceback).
            logger.warning("readiness check failed: %s", describe(exc))
            detail = f"readiness check failed: {describe(exc)}"
        if detail is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "starting", "detail": detail}, status_code=503)

    return router
