"""Request dependencies: the running service and the admin key check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import SecretStr

from tollgate_metering.domain.errors import NotReady
from tollgate_metering.runtime import Runtime
from tollgate_metering.service import Metering
from tollgate_servicekit.admin import admin_guard


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_metering(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Metering:
    if not runtime.ready.is_set():
        raise NotReady(f"metering is not ready: {runtime.startup.detail}")
    return runtime.metering


def admin_key(request: Request) -> SecretStr:
    key: SecretStr = request.app.state.admin_key
    return key


MeteringDep = Annotated[Metering, Depends(get_metering)]
AdminOnly = Depends(admin_guard(admin_key))
