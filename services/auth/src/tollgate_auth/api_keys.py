"""API keys (`tg_…`): the use cases behind `/v1/grants/{id}/api-keys` and `/v1/api-keys`. No framework types.

A key is bound to one grant; the plain key is handed out once, at creation, and only its hash is stored. Like every
change in auth, a new or revoked key is saved, then announced through the `Outbox` (`publishing.py`): the caller
hears back only once its state is acknowledged by the bus, so every proxy knows of it (or of its revocation).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tollgate_auth.domain import ApiKey, Grant, api_key_state, api_key_text, new_api_key, revoke_api_key
from tollgate_auth.domain.errors import ApiKeyNotFound
from tollgate_auth.key_rotation import AuditFactory
from tollgate_auth.ports import ApiKeyStore, Clock, Ids
from tollgate_auth.publishing import Outbox, Ref
from tollgate_servicekit.redaction import clip


class ApiKeys:
    """Create, read and revoke the API keys of grants."""

    def __init__(
        self,
        *,
        store: ApiKeyStore,
        outbox: Outbox,
        clock: Clock,
        ids: Ids,
        audit: AuditFactory,
        grant: Callable[[str], Awaitable[Grant]],
        producer: str,
    ) -> None:
        self.store = store
        self._outbox = outbox
        self.clock = clock
        self.ids = ids
        self._audit = audit
        self._grant = grant
        """The grant with this id (`GrantNotFound` when there is none)."""
        self._producer = producer

    async def create(self, grant_id: str) -> tuple[ApiKey, str]:
        """A new API key bound to an active grant; the plain key is returned here and never again."""
        grant = await self._grant(grant_id)
        plain = api_key_text(self.ids.new_secret())
        api_key = new_api_key(grant, plain, key_id=self.ids.new_id("key"), now=self.clock.now())
        self._outbox.require_bus()
        ref: Ref = ("apikey", api_key.id)
        async with self._outbox.lock(ref):
            await self.store.add_api_key(api_key)
            details = {"grant_id": grant.id, "key_prefix": api_key.key_prefix}
            audit = self._audit("api_key.created", api_key.id, api_key.tenant_id, details)
            await self._outbox.announce(ref, api_key_state(api_key, self._producer), audit)
        return api_key, plain

    async def get(self, key_id: str) -> ApiKey:
        api_key = await self.store.get_api_key(key_id)
        if api_key is None:
            raise ApiKeyNotFound(f"no API key {clip(key_id)!r}")
        return api_key

    async def of_grant(self, grant_id: str) -> list[ApiKey]:
        """The grant's keys; `GrantNotFound` for an unknown grant."""
        await self._grant(grant_id)
        return await self.store.list_api_keys(grant_id)

    async def revoke(self, key_id: str) -> ApiKey:
        """Revoke (idempotent). Returns once the revoked state is acknowledged by the bus."""
        self._outbox.require_bus()
        ref: Ref = ("apikey", key_id)
        async with self._outbox.lock(ref):
            api_key, changed = await self.store.update_api_key(key_id, lambda k: revoke_api_key(k, self.clock.now()))
            audit = self._audit("api_key.revoked", api_key.id, api_key.tenant_id, {"grant_id": api_key.grant_id})
            await self._outbox.announce(ref, api_key_state(api_key, self._producer), audit if changed else None)
        return api_key
