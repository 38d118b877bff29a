"""The tenants auth publishes, as keyvault checks them: one direct get of `tenant.state.v1.<tenant_id>`'s last
message on TG_TENANTS per credential created, no cache (it serves an admin API, not a request path).

A direct get (`$JS.API.DIRECT.GET.TG_TENANTS.<subject>`; every Tollgate stream allows it) names the subject in the
API subject itself, so keyvault's NATS user is granted exactly "read a tenant's last state" and nothing else of the
stream (`tollgate_contracts.permissions`).
"""

from __future__ import annotations

from tollgate_contracts import TenantState, is_subject_token
from tollgate_contracts.streams import TENANTS, StreamSpec
from tollgate_servicekit.nats import Bus

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
        # Only auth's state is believed; an unreadable or forged one is a fault to see, not a tenant to trust.
        return await self._bus.last_state(TenantState, tenant_id, what="the tenant", strict=True)
