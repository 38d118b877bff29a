"""Recording an owner's approval of a pending request: one rule for the consent page, the device verification page
and the admin API (`device_decisions`).

The decision is taken once by the database (`decide_request`, conditional on the request still pending), then the
grant is created through the service (its state acknowledged on the bus before anyone hears of it) and recorded on
the request, where the code exchange or the polling device finds it. If the grant cannot be created (bus down →
`BusUnavailable`, database down), the request goes back to pending rather than stay "approved" with nothing behind
it — a device would otherwise poll `authorization_pending` until it gave up, and the owner could not try again.
"""

from __future__ import annotations

from datetime import datetime

from tollgate_auth.adapters.oauth_pending import SqlPendingDeviceRequests
from tollgate_auth.adapters.oauth_store import SqlOAuthStore, StoredRequest
from tollgate_auth.domain import Grant, GrantRequest
from tollgate_auth.service import AuthService

APPROVED = "approved"

UNAVAILABLE = (
    "Tollgate cannot reach a service it needs right now, so nothing was approved and no access was given."
    " The request is still waiting: try again in a moment."
)
"""What the owner's page says when `approve` raised `Unavailable` (the request waits on, undecided)."""

READ_ONLY = (
    "Your account is read-only: you can see what this app asks for, but not approve it."
    " Ask an owner of your tenant who may give access."
)
"""Why an approval by an owner who may not consent (`Owner.may_consent`: the read-only role) is refused (403)."""


async def approve(
    store: SqlOAuthStore,
    service: AuthService,
    request: StoredRequest,
    grant_request: GrantRequest,
    *,
    tenant_id: str | None,
    now: datetime,
) -> Grant | None:
    """Approve `request` with the grant `grant_request` describes, in `tenant_id`; the created grant, or None when
    the request was decided meanwhile (nothing created). Whatever `create_grant` raises (`BusUnavailable`…) is
    raised again, the request pending once more."""
    if not await store.decide_request(request.id, APPROVED, None, now):
        return None
    try:
        grant = await service.create_grant(grant_request, tenant_id)
    except Exception:
        # No grant exists: back to pending (conditional on "approved" with no grant recorded, so nothing else is
        # undone), then the error goes on to the caller.
        await SqlPendingDeviceRequests(store.database).reopen(request.id)
        raise
    await store.set_request_grant(request.id, grant.id)
    return grant
