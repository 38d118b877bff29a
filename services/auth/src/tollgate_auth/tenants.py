"""Tenants: the default tenant every replica ensures at start, creating and listing tenants (`/v1/tenants`), and
finding the tenant a grant or an account belongs to. No framework types.

A new tenant is saved, then announced through the `Outbox` (`publishing.py`): the caller hears back only once its
state is acknowledged by the bus (keyvault checks it before storing a credential for the tenant). The default
tenant is made at start-up, before the bus may be up: its audit event is queued, its state published by the resync.
"""

from __future__ import annotations

import logging

from tollgate_auth.domain import Tenant, new_tenant, tenant_state
from tollgate_auth.domain.errors import NotReady, TenantExists, TenantNotFound
from tollgate_auth.key_rotation import AuditFactory
from tollgate_auth.ports import Clock, Ids, TenantStore
from tollgate_auth.publishing import Outbox, Ref
from tollgate_servicekit.redaction import clip

log = logging.getLogger(__name__)


class Tenants:
    """The tenants of this deployment, and the default one once `ensure_default` has run."""

    def __init__(
        self,
        *,
        store: TenantStore,
        outbox: Outbox,
        clock: Clock,
        ids: Ids,
        audit: AuditFactory,
        default_name: str,
        producer: str,
    ) -> None:
        self.store = store
        self._outbox = outbox
        self.clock = clock
        self.ids = ids
        self._audit = audit
        self.default_name = default_name
        self._producer = producer
        self._default: Tenant | None = None

    async def ensure_default(self) -> Tenant:
        """The default tenant, created if missing (database only; its audit event waits for the bus)."""
        self._default = await self._ensure_default()
        return self._default

    async def _ensure_default(self) -> Tenant:
        existing = await self.store.tenant_by_name(self.default_name)
        if existing is not None:
            return existing
        tenant = new_tenant(self.default_name, tenant_id=self.ids.new_id("tnt"), now=self.clock.now())
        try:
            await self.store.add_tenant(tenant)
        except TenantExists:
            # Another replica created it between our read and our insert.
            raced = await self.store.tenant_by_name(tenant.name)
            if raced is None:
                raise
            return raced
        log.info("created default tenant %s (%s)", tenant.id, tenant.name)
        self._outbox.queue_audit(self._audit("tenant.created", tenant.id, tenant.id, {"name": tenant.name}))
        return tenant

    async def create(self, name: str) -> Tenant:
        """Create a tenant; returns once its state is acknowledged by the bus."""
        tenant = new_tenant(name, tenant_id=self.ids.new_id("tnt"), now=self.clock.now())
        self._outbox.require_bus()
        ref: Ref = ("tenant", tenant.id)
        async with self._outbox.lock(ref):
            await self.store.add_tenant(tenant)
            audit = self._audit("tenant.created", tenant.id, tenant.id, {"name": tenant.name})
            await self._outbox.announce(ref, tenant_state(tenant, self._producer), audit)
        return tenant

    async def all(self) -> list[Tenant]:
        return await self.store.list_tenants()

    async def resolve(self, tenant_id: str | None) -> Tenant:
        """The tenant with this id, or the default one for None; `TenantNotFound`, or `NotReady` before start-up."""
        if tenant_id is None:
            if self._default is None:
                raise NotReady("the default tenant is not loaded yet")
            return self._default
        tenant = await self.store.get_tenant(tenant_id)
        if tenant is None:
            raise TenantNotFound(f"no tenant {clip(tenant_id)!r}")
        return tenant
