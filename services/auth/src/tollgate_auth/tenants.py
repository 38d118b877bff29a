"""Tenants: the default tenant every replica ensures at start, creating and listing tenants (`/v1/tenants`), and
finding the tenant a grant or an account belongs to, and each tenant's consent template (`consent_template`: the
one place every approval path — consent page, device page, admin API — gets it from). No framework types.

A new tenant is saved, then announced through the `Outbox` (`publishing.py`): the caller hears back only once its
state is acknowledged by the bus (keyvault checks it before storing a credential for the tenant). The default
tenant is made at start-up, before the bus may be up: its audit event is queued, its state published by the resync.
"""

from __future__ import annotations

import logging

from tollgate_auth.domain import Tenant, new_tenant, tenant_state
from tollgate_auth.domain.access import DEFAULT_TEMPLATE, Template
from tollgate_auth.domain.errors import InvalidRequest, NotReady, TenantExists, TenantNotFound
from tollgate_auth.domain.templates import template_json, template_of_json
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

    async def consent_template(self, tenant_id: str | None) -> Template:
        """What the consent page proposes where an app asked nothing: the tenant's template, else `DEFAULT_TEMPLATE`
        (None: the default tenant's, where a request with no owner yet gets its grant).

        Used by every approval path, for the page shown and for the narrowing applied, so both agree. A stored
        template that today's rules refuse (they tightened since it was set) is not used: the default is, and the
        reason is logged for the admin to set it again.
        """
        if tenant_id is None:
            tenant_id = (await self.resolve(None)).id
        stored = await self.store.get_consent_template(tenant_id)
        if stored is None:
            return DEFAULT_TEMPLATE
        try:
            return template_of_json(stored)
        except InvalidRequest as exc:
            log.warning("tenant %s: stored consent template refused (%s); using the default", tenant_id, exc.message)
            return DEFAULT_TEMPLATE

    async def template_of(self, tenant_id: str) -> tuple[Template, bool]:
        """The tenant's effective template and whether it is its own (False: the default); `TenantNotFound`."""
        await self.resolve(tenant_id)
        own = await self.store.get_consent_template(tenant_id) is not None
        return await self.consent_template(tenant_id), own

    async def set_template(self, tenant_id: str, template: Template | None) -> Template:
        """Set (None: back to the default) the tenant's template; the effective one. `TenantNotFound`.

        Auth alone reads it, so nothing is published but the audit event (queued for retry if the bus is down).
        """
        stored = None if template is None else template_json(template)
        if not await self.store.set_consent_template(tenant_id, stored):
            raise TenantNotFound(f"no tenant {clip(tenant_id)!r}")
        action = "tenant.consent_template_cleared" if stored is None else "tenant.consent_template_set"
        await self._outbox.publish_audit(self._audit(action, tenant_id, tenant_id, {"template": stored}))
        return DEFAULT_TEMPLATE if template is None else template
