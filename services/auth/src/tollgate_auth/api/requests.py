"""`/v1/requests` (admin): devices' pending grant requests (RFC 8628), approved (narrowed) or denied by the owner
from the CLI — the same decision the verification page records. Role and tenant checks come with the roles issue.

A request is named by its id (`req_…`) or by the user code the device shows (`BCDF-GHJK`, any case).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field, StrictInt, StrictStr, WithJsonSchema

from tollgate_auth.adapters.oauth_pending import DeviceRequest, SqlPendingDeviceRequests
from tollgate_auth.api.deps import RuntimeDep, require_admin
from tollgate_auth.api.schemas import Body as StrictBody
from tollgate_auth.api.schemas import DataList, GrantOut
from tollgate_auth.domain.consent import OwnerChoice, details_json
from tollgate_auth.domain.errors import InvalidRequest
from tollgate_auth.oauth.device_decisions import (
    approve_device_request,
    asked_of,
    client_name,
    deny_device_request,
    find_device_request,
)
from tollgate_auth.runtime import Runtime
from tollgate_contracts import usd_to_micro

router = APIRouter(prefix="/v1/requests", tags=["requests"], dependencies=[Depends(require_admin)])


class RequestOut(BaseModel):
    id: str
    client_id: str
    client_name: str
    user_code: str
    status: str
    scope: str | None
    authorization_details: list[dict[str, Any]] = Field(description="What the device asked for (RFC 9396).")
    grant_id: str | None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, found: DeviceRequest) -> RequestOut:
        request = found.request
        return cls(
            id=request.id,
            client_id=request.client_id,
            client_name=client_name(request),
            user_code=found.user_code,
            status=request.status,
            scope=request.params.get("scope"),
            authorization_details=details_json(asked_of(request)),
            grant_id=request.grant_id,
            created_at=request.created_at,
            expires_at=request.expires_at,
        )


class ApproveIn(StrictBody):
    """The owner's narrowing; every field left out keeps what the device asked (or the tenant's template)."""

    provider: StrictStr | None = Field(default=None, description="Only when the request names no provider.")
    models: list[StrictStr] | None = Field(default=None, description="A subset of the asked models (or patterns).")
    budget_usd: Annotated[
        Any, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]})
    ] = Field(default=None, description='Spend cap in dollars, e.g. "2.50"; at most what was asked.')
    max_requests: StrictInt | None = Field(default=None, description="At most what was asked.")
    expires_in_seconds: StrictInt | None = Field(default=None, description="At most what was asked.")

    def choice(self) -> OwnerChoice:
        try:
            budget = None if self.budget_usd is None else usd_to_micro(self.budget_usd)
        except ValueError:
            raise InvalidRequest(f"budget_usd: {str(self.budget_usd)[:40]!r} is not an amount in dollars") from None
        return OwnerChoice(
            provider=self.provider,
            models=None if self.models is None else tuple(self.models),
            budget_micro_usd=budget,
            max_requests=self.max_requests,
            expires_in_seconds=self.expires_in_seconds,
        )


def _requests(runtime: Runtime) -> SqlPendingDeviceRequests:
    return SqlPendingDeviceRequests(runtime.oauth_store.database)


@router.get("")
async def list_requests(runtime: RuntimeDep) -> DataList[RequestOut]:
    """Undecided, unexpired device requests, oldest first."""
    found = await _requests(runtime).undecided(runtime.service.clock.now())
    return DataList(data=[RequestOut.of(f) for f in found])


@router.get("/{id_or_user_code}")
async def get_request(id_or_user_code: str, runtime: RuntimeDep) -> RequestOut:
    """One device request, whatever its status (pending, approved with its grant_id, denied, expired)."""
    return RequestOut.of(await find_device_request(_requests(runtime), id_or_user_code))


@router.post("/{id_or_user_code}/approve")
async def approve_request(
    id_or_user_code: str, runtime: RuntimeDep, body: Annotated[ApproveIn | None, Body()] = None
) -> GrantOut:
    """Approve, narrowed as given; answers the grant once its state is acknowledged on the bus. 409
    `request_decided` / `expired_token`; 422 for a choice wider than the ask."""
    choice = (body or ApproveIn()).choice()
    found = await find_device_request(_requests(runtime), id_or_user_code)
    service = runtime.service
    grant = await approve_device_request(runtime.oauth_store, service, found, choice)
    return GrantOut.of(grant, service.clock.now())


@router.post("/{id_or_user_code}/deny")
async def deny_request(id_or_user_code: str, runtime: RuntimeDep) -> RequestOut:
    """Deny; the device's next poll answers `access_denied`. 409 when already decided or expired."""
    requests = _requests(runtime)
    found = await find_device_request(requests, id_or_user_code)
    await deny_device_request(runtime.oauth_store, found, runtime.service.clock.now())
    return RequestOut.of(await find_device_request(requests, found.request.id))
