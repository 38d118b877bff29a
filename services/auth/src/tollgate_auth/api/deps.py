"""Dependencies: the runtime, the ready service, the admin-key check (servicekit's guard)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import SecretStr

from tollgate_auth.runtime import Runtime
from tollgate_auth.service import AuthService
from tollgate_servicekit.admin import admin_guard


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_service(runtime: RuntimeDep) -> AuthService:
    return runtime.service


ServiceDep = Annotated[AuthService, Depends(get_service)]


def _admin_key(request: Request) -> SecretStr | None:
    return get_runtime(request).admin_key


require_admin = admin_guard(_admin_key)
"""`Authorization: Bearer <admin key>`, compared in constant time; 401 otherwise."""
