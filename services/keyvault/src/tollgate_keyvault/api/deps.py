"""FastAPI dependencies: the running service and the admin-key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from tollgate_keyvault.api.errors import Unauthorized
from tollgate_keyvault.runtime import Runtime
from tollgate_keyvault.service import KeyvaultService


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def service(rt: Annotated[Runtime, Depends(runtime)]) -> KeyvaultService:
    return rt.service


def require_admin(
    rt: Annotated[Runtime, Depends(runtime)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """`Authorization: Bearer <admin key>`, compared in constant time; Unauthorized otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized
    if not hmac.compare_digest(token.strip().encode(), rt.admin_key.encode()):
        raise Unauthorized


RuntimeDep = Annotated[Runtime, Depends(runtime)]
ServiceDep = Annotated[KeyvaultService, Depends(service)]
AdminDep = Depends(require_admin)
