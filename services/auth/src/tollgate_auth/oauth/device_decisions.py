"""The owner's decision on a device request (RFC 8628) made outside the browser: the admin API and the CLI.

Approval follows the consent page's rules exactly: the owner's choice may only narrow what the device asked
(`narrow`, with the tenant's template where it asked nothing), and it is recorded by the one function every approval
goes through (`approval.approve`: decided once by the database, the grant created and acknowledged on the bus
before we answer and recorded where the polling device finds it, the request reopened if it cannot be). A
request past its expiry is recorded as expired and refused (`expired_token`).
"""

from __future__ import annotations

from datetime import datetime

from authlib.oauth2.rfc6749.errors import OAuth2Error

from tollgate_auth.adapters.oauth_pending import DeviceRequest, SqlPendingDeviceRequests
from tollgate_auth.adapters.oauth_store import PENDING, SqlOAuthStore, StoredRequest
from tollgate_auth.domain import Grant
from tollgate_auth.domain.consent import AccessDetails, OwnerChoice, grant_request_from, narrow
from tollgate_auth.domain.errors import InvalidRequest, NotFound, RequestDecided, RequestExpired
from tollgate_auth.domain.grant_requests import normalize_user_code
from tollgate_auth.oauth.approval import approve
from tollgate_auth.oauth.details import asked_details
from tollgate_auth.service import AuthService

APPROVED, DENIED, EXPIRED = "approved", "denied", "expired"


class RequestNotFound(NotFound):
    code = "request_not_found"


async def find_device_request(requests: SqlPendingDeviceRequests, id_or_user_code: str) -> DeviceRequest:
    """The device request named by its id (`req_…`) or its user code (any case, dashes optional)."""
    user_code = normalize_user_code(id_or_user_code)
    found = await requests.find(id_or_user_code, user_code)
    if found is None:
        raise RequestNotFound(f"no device request {id_or_user_code!r} (give its id or its user code)")
    return found


def client_name(request: StoredRequest) -> str:
    return request.params.get("client_name") or request.client_id


def asked_of(request: StoredRequest) -> AccessDetails:
    """What the device asked for (validated when it asked; a stored ask that no longer parses is refused)."""
    try:
        return asked_details(request.params)
    except OAuth2Error as exc:
        raise InvalidRequest(f"the request's authorization_details: {exc.description}") from None


async def _ensure_pending(store: SqlOAuthStore, request: StoredRequest, now: datetime) -> None:
    if request.status != PENDING:
        raise RequestDecided(f"request {request.id} was already {request.status}")
    if now >= request.expires_at:
        await store.decide_request(request.id, EXPIRED, None, now)
        raise RequestExpired(f"request {request.id} expired before it was decided; the device must ask again")


async def approve_device_request(
    store: SqlOAuthStore, service: AuthService, found: DeviceRequest, choice: OwnerChoice
) -> Grant:
    """Approve with the owner's narrowing; the created grant. Raises `NotNarrower`/`InvalidRequest` (422) for a
    choice wider than the ask or incomplete (no provider or models), `RequestDecided`/`RequestExpired` (409)."""
    request = found.request
    now = service.clock.now()
    await _ensure_pending(store, request, now)
    # The tenant the grant will belong to proposes what the device did not ask (the default tenant for None).
    template = await service.tenants.consent_template(request.tenant_id)
    granted = narrow(asked_of(request), choice, template=template)
    grant_request = grant_request_from(granted, app_name=client_name(request))
    # A grant that cannot be created (bus down) leaves the request pending: `approval.approve`.
    grant = await approve(store, service, request, grant_request, tenant_id=request.tenant_id, now=now)
    if grant is None:
        raise RequestDecided(f"request {request.id} was decided meanwhile")
    return grant


async def deny_device_request(store: SqlOAuthStore, found: DeviceRequest, now: datetime) -> StoredRequest:
    """Deny (kept on record); the device's next poll is `access_denied`."""
    request = found.request
    await _ensure_pending(store, request, now)
    if not await store.decide_request(request.id, DENIED, None, now):
        raise RequestDecided(f"request {request.id} was decided meanwhile")
    decided = await store.get_request(request.id)
    assert decided is not None
    return decided
