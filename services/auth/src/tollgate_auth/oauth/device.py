"""The device authorization grant (RFC 8628) on Authlib's `DeviceAuthorizationEndpoint` and `DeviceCodeGrant`.

`POST /oauth/device_authorization`: the client (public or not) asks, with `authorization_details` or only a
scope; it gets `device_code`, a `user_code` (the domain's: consonants, `XXXX-XXXX`), `verification_uri(_complete)`,
`expires_in` and `interval`. The request waits in the pending-requests table for the owner (the verification page,
`device_pages.py`). Polling the token endpoint answers exactly as RFC 8628 §3.5 says: `authorization_pending`,
`slow_down` (the interval grows by five seconds for good), `access_denied`, `expired_token`; once approved, the
device code is exchanged once (a second exchange is `invalid_grant`).
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant, DeviceCredentialDict

from tollgate_auth.adapters.oauth_devices import DevicePoll
from tollgate_auth.adapters.oauth_store import PENDING, StoredRequest
from tollgate_auth.domain.consent import AccessDetails
from tollgate_auth.domain.grant_requests import (
    SLOW_DOWN_STEP_SECONDS,
    PendingRequest,
    RequestStatus,
    effective_request_status,
    new_user_code,
)
from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.details import asked_details
from tollgate_auth.oauth.grants import grant_user, with_grant
from tollgate_auth.oauth.metadata import DEVICE_VERIFY
from tollgate_auth.oauth.models import GrantUser, digest

APPROVED, DENIED = "approved", "denied"
INTERVAL_SECONDS = 5

_request: ContextVar[Any] = ContextVar("device_authorization_request")
"""The request being answered, for `save_device_credential` (which Authlib hands only the client id and scope)."""


class DeviceAuthorization(DeviceAuthorizationEndpoint):  # type: ignore[misc]
    INTERVAL = INTERVAL_SECONDS

    def __init__(self, ctx: OAuthContext) -> None:
        super().__init__(None)
        self.ctx = ctx
        self.EXPIRES_IN = ctx.settings.pending_request_ttl_seconds

    def create_endpoint_response(self, request: Any) -> Any:
        # Validate the ask before anything is issued (invalid_authorization_details, RFC 9396 §5).
        asked_details(request.payload.data)
        token = _request.set(request)
        try:
            return super().create_endpoint_response(request)
        finally:
            _request.reset(token)

    def generate_user_code(self) -> str:
        return new_user_code(os.urandom)

    def get_verification_uri(self) -> str:
        return self.ctx.url(DEVICE_VERIFY)

    def save_device_credential(self, client_id: str, scope: str | None, data: dict[str, Any]) -> None:
        ctx = self.ctx
        request = _request.get()
        client = request.client
        now = ctx.clock.now()
        params = {k: v for k, v in request.payload.data.items() if k not in ("client_secret",)}
        stored = StoredRequest(
            id=ctx.ids.new_id("req"),
            client_id=client_id,
            params={**params, "client_name": client.name},
            owner_id=None,
            tenant_id=None,
            status=PENDING,
            grant_id=None,
            created_at=now,
            expires_at=now + timedelta(seconds=self.EXPIRES_IN),
        )
        store = ctx.store()
        ctx.bridge.wait(store.add_device_request(stored, data["user_code"], digest(data["device_code"]), self.INTERVAL))


class DeviceCredential(DeviceCredentialDict):  # type: ignore[misc]
    """Authlib's credential view of a polled device request; expiry by the service's clock, decided when polled
    (an approved request stays exchangeable: the domain's `effective_request_status`)."""

    def is_expired(self) -> bool:
        return bool(self["expired"])


class DeviceGrant(DeviceCodeGrant):  # type: ignore[misc]
    def query_device_credential(self, device_code: str) -> DeviceCredential:
        ctx: OAuthContext = self.server.ctx
        poll: DevicePoll | None = ctx.bridge.wait(
            ctx.devices().poll(digest(device_code), ctx.clock.now(), SLOW_DOWN_STEP_SECONDS)
        )
        if poll is None:
            # RFC 6749 §5.2: an unknown grant is invalid_grant (Authlib would say invalid_request).
            raise InvalidGrantError("unknown device_code")
        self.request.poll = poll
        req = poll.request
        status = effective_request_status(_pending_of(req), ctx.clock.now())
        return DeviceCredential(
            client_id=req.client_id,
            scope=req.params.get("scope") or "",
            user_code=poll.user_code,
            expired=status is RequestStatus.EXPIRED,
        )

    def validate_device_credential(self, credential: DeviceCredential) -> Any:
        poll: DevicePoll = self.request.poll
        if poll.used:
            raise InvalidGrantError("this device code was already exchanged")
        return super().validate_device_credential(credential)

    def query_user_grant(self, user_code: str) -> tuple[GrantUser | None, bool] | None:
        ctx: OAuthContext = self.server.ctx
        req = self.request.poll.request
        if req.status == DENIED:
            return None, False
        if req.status != APPROVED or req.grant_id is None:
            return None
        if not ctx.bridge.wait(ctx.devices().use(req.id, ctx.clock.now())):
            raise InvalidGrantError("this device code was already exchanged")
        user = grant_user(ctx, req.grant_id)
        if user is None:
            raise InvalidGrantError("the grant is no longer active")
        return user, True

    def should_slow_down(self, credential: DeviceCredential) -> bool:
        too_soon: bool = self.request.poll.too_soon
        return too_soon

    def create_token_response(self) -> Any:
        return with_grant(self, super().create_token_response())


def _pending_of(req: StoredRequest) -> PendingRequest:
    """The domain's view of a stored request, for its status rules."""
    return PendingRequest(
        id=req.id,
        client_id=req.client_id,
        client_name=req.params.get("client_name", req.client_id),
        asked=AccessDetails(),
        created_at=req.created_at,
        expires_at=req.expires_at,
        status=RequestStatus(req.status),
        grant_id=req.grant_id,
    )
