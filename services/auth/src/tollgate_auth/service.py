"""Auth's use cases: the domain rules applied through the ports. No framework types.

Every change is saved, then announced through the `Outbox` (`publishing.py`, which states the publishing rules):
the caller hears back only once the new state is acknowledged by the bus.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tollgate_auth.accounts import Accounts
from tollgate_auth.api_keys import ApiKeys
from tollgate_auth.domain import (
    Grant,
    GrantRequest,
    SigningKey,
    TokenPolicy,
    api_key_state,
    current_signer,
    grant_state,
    new_grant,
    revoke,
    signing_key_state,
    tenant_state,
    token_claims,
)
from tollgate_auth.domain.errors import GrantNotFound
from tollgate_auth.domain.signing_keys import RotationPolicy
from tollgate_auth.domain.users import SessionPolicy
from tollgate_auth.key_rotation import SigningKeys
from tollgate_auth.ports import Clock, Ids, PasswordHasher, Publisher, Signer, Store
from tollgate_auth.publishing import PRODUCER, Outbox, Ref, audit_event
from tollgate_auth.tenants import Tenants
from tollgate_contracts import AuditEvent, StateEvent, TokenRevoked
from tollgate_servicekit.redaction import clip

log = logging.getLogger(__name__)

ACTOR_ADMIN = "admin"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    jti: str
    expires_at: datetime


class AuthService:
    """Grants, delegated tokens and signing keys, and the resync of every state; tenants (`tenants`), owner accounts
    (`accounts`) and API keys (`api_keys`) are their own use cases, sharing the store and the outbox."""

    def __init__(
        self,
        *,
        store: Store,
        publisher: Publisher,
        signer: Signer,
        clock: Clock,
        ids: Ids,
        policy: TokenPolicy,
        default_tenant_name: str = "default",
        hasher: PasswordHasher | None = None,
        sessions: SessionPolicy | None = None,
        rotation: RotationPolicy | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.signer = signer
        self.clock = clock
        self.ids = ids
        self.policy = policy
        self._outbox = Outbox(publisher)
        if rotation is None:
            # Rotate monthly; a retired key stays published for the longest token plus a minute of skew.
            rotation = RotationPolicy.of(
                rotate_after_seconds=30 * 86_400, longest_token_seconds=policy.max_ttl_seconds, skew_seconds=60
            )
        self.signing = SigningKeys(
            store=store,
            outbox=self._outbox,
            signer=signer,
            clock=clock,
            policy=rotation,
            audit=self._audit,
            producer=PRODUCER,
        )
        self.tenants = Tenants(
            store=store,
            outbox=self._outbox,
            clock=clock,
            ids=ids,
            audit=self._audit,
            default_name=default_tenant_name,
            producer=PRODUCER,
        )
        self.accounts = Accounts(store, clock, ids, self.tenants.resolve, self._outbox.publish_audit, hasher, sessions)
        self.api_keys = ApiKeys(
            store=store,
            outbox=self._outbox,
            clock=clock,
            ids=ids,
            audit=self._audit,
            grant=self.get_grant,
            producer=PRODUCER,
        )

    # -- start-up and resync ------------------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Ensure the default tenant and a signing key exist (database only; their events wait for the bus)."""
        await self.tenants.ensure_default()
        keys = await self.store.list_signing_keys()
        if current_signer(keys) is None:
            key = self.signer.generate(self.clock.now())
            await self.store.add_signing_key(key)
            log.info("generated signing key %s", key.kid)
            self._outbox.queue_audit(self._audit("signing_key.created", key.kid, None, {"alg": key.alg}))
            keys = await self.store.list_signing_keys()
        self.signing.keys = keys
        self._outbox.mark_pending([("signing_key", k.kid) for k in keys])

    async def republish_all(self) -> int:
        """Publish the current state of every tenant, grant, API key and signing key; consumers keep the newest.

        Raises `BusUnavailable` if any publication was not acknowledged (those are retried later).
        """
        tenants, grants, keys, signing_keys = (
            await self.store.list_tenants(),
            await self.store.list_grants(),
            await self.store.list_api_keys(),
            await self.store.list_signing_keys(),
        )
        self.signing.keys = signing_keys
        states: list[tuple[Ref, StateEvent]] = [(("tenant", t.id), tenant_state(t, PRODUCER)) for t in tenants]
        states += [(("grant", g.id), grant_state(g, PRODUCER)) for g in grants]
        states += [(("apikey", k.id), api_key_state(k, PRODUCER)) for k in keys]
        states += [(("signing_key", k.kid), signing_key_state(k, PRODUCER)) for k in signing_keys]
        return await self._outbox.republish(states)

    @property
    def has_pending(self) -> bool:
        return self._outbox.has_pending

    async def retry_pending(self) -> None:
        """Publish again, from the database, every state that was not acknowledged, and every queued audit event."""
        await self._outbox.retry_pending(self._load_state)

    async def _load_state(self, ref: Ref) -> StateEvent | None:
        kind, key = ref
        if kind == "tenant":
            tenant = await self.store.get_tenant(key)
            return None if tenant is None else tenant_state(tenant, PRODUCER)
        if kind == "grant":
            grant = await self.store.get_grant(key)
            return None if grant is None else grant_state(grant, PRODUCER)
        if kind == "apikey":
            api_key = await self.store.get_api_key(key)
            return None if api_key is None else api_key_state(api_key, PRODUCER)
        signing_key = next((k for k in await self.store.list_signing_keys() if k.kid == key), None)
        return None if signing_key is None else signing_key_state(signing_key, PRODUCER)

    # -- grants --------------------------------------------------------------------------------------------------

    async def create_grant(self, request: GrantRequest, tenant_id: str | None = None) -> Grant:
        tenant = await self.tenants.resolve(tenant_id)
        grant = new_grant(request, grant_id=self.ids.new_id("grt"), tenant_id=tenant.id, now=self.clock.now())
        self._outbox.require_bus()
        ref: Ref = ("grant", grant.id)
        async with self._outbox.lock(ref):
            await self.store.add_grant(grant)
            details = {
                "provider": grant.provider,
                "models": list(grant.models),
                "capabilities": [c.value for c in grant.capabilities],
                "budget_micro_usd": grant.budget_micro_usd,
                "max_requests": grant.max_requests,
                "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
            }
            audit = self._audit("grant.created", grant.id, grant.tenant_id, details)
            await self._outbox.announce(ref, grant_state(grant, PRODUCER), audit)
        return grant

    async def get_grant(self, grant_id: str) -> Grant:
        grant = await self.store.get_grant(grant_id)
        if grant is None:
            raise GrantNotFound(f"no grant {clip(grant_id)!r}")
        return grant

    async def list_grants(self, tenant_id: str | None = None) -> list[Grant]:
        return await self.store.list_grants(tenant_id)

    async def revoke_grant(self, grant_id: str) -> Grant:
        """Revoke (idempotent). Returns once the revoked state is acknowledged by the bus."""
        self._outbox.require_bus()
        ref: Ref = ("grant", grant_id)
        async with self._outbox.lock(ref):
            grant, changed = await self.store.update_grant(grant_id, lambda g: revoke(g, self.clock.now()))
            audit = self._audit("grant.revoked", grant.id, grant.tenant_id, {"version": grant.version})
            # Unchanged still republishes: the caller is promised the revoked state is on the bus.
            await self._outbox.announce(ref, grant_state(grant, PRODUCER), audit if changed else None)
        return grant

    # -- tokens --------------------------------------------------------------------------------------------------

    async def mint_token(self, grant_id: str, ttl_seconds: int | None = None) -> IssuedToken:
        grant = await self.get_grant(grant_id)
        key = self.signing.signer_key()
        now = self.clock.now()
        jti = self.ids.new_id("jti")
        claims = token_claims(grant, now=now, ttl_seconds=ttl_seconds, jti=jti, policy=self.policy)
        token = self.signer.sign(claims, key)
        expires = int(claims["exp"])
        details = {"jti": jti, "kid": key.kid, "exp": expires}
        await self._outbox.publish_audit(self._audit("token.issued", grant.id, grant.tenant_id, details))
        expires_in = expires - int(claims["iat"])
        return IssuedToken(token, expires_in, jti, datetime.fromtimestamp(expires, UTC))

    def signing_key(self) -> SigningKey:
        """The key that signs now; `NotReady` before one is loaded."""
        return self.signing.signer_key()

    async def rotate_signing_key(self) -> SigningKey:
        """A new signing key, acknowledged on the bus before it signs; the previous one retires (`key_rotation`)."""
        return await self.signing.rotate()

    async def record_token(self, grant_id: str, tenant_id: str, details: dict[str, Any]) -> None:
        """The `token.issued` audit event of a token minted elsewhere (the OAuth token endpoint)."""
        await self._outbox.publish_audit(self._audit("token.issued", grant_id, tenant_id, details))

    async def revoke_tokens(
        self, grant_id: str, tenant_id: str, tokens: list[tuple[str, datetime]], action: str, details: dict[str, Any]
    ) -> None:
        """Publish `TokenRevoked` for each (jti, expiry) still live, each acknowledged (else `BusUnavailable`;
        publishing again is harmless), then the audit event `action`."""
        now = self.clock.now()
        live = [(jti, expires) for jti, expires in tokens if expires > now]
        for jti, expires in live:
            revoked = TokenRevoked(
                producer=PRODUCER, occurred_at=now, state_version=1, jti=jti, grant_id=grant_id, expires_at=expires
            )
            await self.publisher.publish(revoked)
        audit = self._audit(action, grant_id, tenant_id, {**details, "revoked_jtis": [jti for jti, _ in live]})
        await self._outbox.publish_audit(audit)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return self.signing.jwks()

    # -- helpers -------------------------------------------------------------------------------------------------

    def _audit(self, action: str, target_id: str, tenant_id: str | None, details: dict[str, Any]) -> AuditEvent:
        return audit_event(self.clock, self.ids, action, ACTOR_ADMIN, target_id, tenant_id, details)
