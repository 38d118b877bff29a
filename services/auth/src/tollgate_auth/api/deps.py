"""Dependencies: the runtime, the ready service, the admin-key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from tollgate_auth.domain.errors import NotReady, Unauthorized
from tollgate_auth.runtime import Runtime
from tollgate_auth.service import AuthService


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_service(runtime: RuntimeDep) -> AuthService:
    return runtime.service


ServiceDep = Annotated[AuthService, Depends(get_service)]


def require_admin(runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """`Authorization: Bearer <admin key>`, compared in constant time."""
    expected = runtime.admin_key
    if expected is None:
        raise NotReady("auth is starting; try again shortly")
    scheme, _, presented = (authorization or "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise Unauthorized("missing admin key: send 'Authorization: Bearer <admin key>'")
    if not hmac.compare_digest(presented.encode(), expected.get_secret_value().encode()):
        raise Unauthorized("invalid admin key")
