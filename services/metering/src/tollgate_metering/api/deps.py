"""Request dependencies: the running service and the admin key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from tollgate_metering.domain.errors import NotAuthorized, NotReady
from tollgate_metering.runtime import Runtime
from tollgate_metering.service import Metering


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_metering(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Metering:
    if runtime.metering is None:
        raise NotReady(f"metering is not ready: {runtime.phase}")
    return runtime.metering


def require_admin(request: Request) -> None:
    """`Authorization: Bearer <admin key>`, compared in constant time; 401 otherwise."""
    expected: bytes = request.app.state.admin_key
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected):
        raise NotAuthorized("missing or invalid admin key")


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
MeteringDep = Annotated[Metering, Depends(get_metering)]
AdminOnly = Depends(require_admin)
