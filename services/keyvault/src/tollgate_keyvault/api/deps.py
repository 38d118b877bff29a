"""FastAPI dependencies: the running service and the admin-key check (servicekit's, constant time)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import SecretStr

from tollgate_keyvault.runtime import Runtime
from tollgate_keyvault.service import KeyvaultService
from tollgate_servicekit.admin import admin_guard


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def service(rt: Annotated[Runtime, Depends(runtime)]) -> KeyvaultService:
    return rt.service


def _admin_key(request: Request) -> SecretStr | None:
    rt: Runtime | None = getattr(request.app.state, "runtime", None)
    return None if rt is None else rt.admin_key


RuntimeDep = Annotated[Runtime, Depends(runtime)]
ServiceDep = Annotated[KeyvaultService, Depends(service)]
AdminDep = Depends(admin_guard(_admin_key))
