"""The tenants auth publishes, as keyvault checks them: one direct get of `tenant.state.v1.<tenant_id>`'s last
message on TG_TENANTS per credential created, no cache (it serves an admin API, not a request path).

A direct get (`$JS.API.DIRECT.GET.TG_TENANTS.<subject>`; every Tollgate stream allows it) names the subject in the
API subject itself, so keyvault's NATS user is granted exactly "read a tenant's last state" and nothing else of the
stream (`tollgate_contracts.permissions`).
"""

from __future__ import annotations

import logging

from nats.js.errors import NotFoundError
from pydantic import ValidationError

from tollgate_contracts import TenantState, is_subject_token
from tollgate_contracts.streams import TENANTS, StreamSpec
from tollgate_servicekit.errors import BusUnavailable
from tollgate_servicekit.nats import BUS_ERRORS, Bus

logger = logging.getLogger(__name__)

TENANT_STREAMS: tuple[StreamSpec, ...] = (TENANTS,)
"""The stream keyvault reads tenants from; it is ready only once it exists (auth creates it)."""


class BusTenants:
    """`Tenants` over a connected `Bus`."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def tenant(self, tenant_id: str) -> TenantState | None:
        if not is_subject_token(tenant_id):
            # A wildcard here would read the last state of whichever tenant changed last.
            raise ValueError("tenant_id must be one plain subject token")
        if not self._bus.is_connected:
            # Fail at once: a request while nats-py reconnects would only wait out its timeout.
            raise BusUnavailable("the event bus is unreachable, so the tenant cannot be checked; try again shortly")
        subject = f"{TenantState.subject_prefix}.{tenant_id}"
        try:
            msg = await self._bus.js.get_last_msg(TENANTS.name, subject, direct=True)
        except NotFoundError:
            return None
        except BUS_ERRORS as exc:
            raise BusUnavailable(f"cannot look the tenant up on the bus: {type(exc).__name__}") from exc
        try:
            return TenantState.model_validate_json(msg.data or b"")
        except ValidationError:
            # Only auth may publish there: an unreadable state is a fault to see, not a tenant to trust.
            logger.error("the last message on %s is not a readable TenantState", subject)
            raise BusUnavailable("the tenant's state on the bus is unreadable") from None
