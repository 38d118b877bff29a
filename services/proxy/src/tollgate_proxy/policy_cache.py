"""The proxy's in-memory copy of every policy entity, fed by the bus, read on every request.

Each entity is kept at the highest `state_version` seen: replays, republishes
and out-of-order deliveries of older states change nothing. A state whose
producer does not own its subject (`domain.ownership`) is ignored, counted and
logged once per subject. Everything is plain dict lookups; the event loop is
the only writer, so no locks. A request may wait briefly for a grant or a
signing key that has not arrived yet (`arrivals`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tollgate_contracts import (
    ApiKeyState,
    BreakerState,
    BudgetState,
    Capability,
    CredentialState,
    CredentialStatus,
    GrantState,
    SigningKeyState,
    StateEvent,
    TokenRevoked,
)
from tollgate_proxy.arrivals import Arrivals
from tollgate_proxy.domain import policy
from tollgate_proxy.domain.ownership import owner_of, published_by_owner
from tollgate_proxy.domain.tokens import VerificationKey, load_key

logger = logging.getLogger(__name__)

_PRUNE_EVERY = 1024
_MAX_WARNED_SUBJECTS = 10_000
_SHOWN_PRODUCER = 64

CredentialListener = Callable[[CredentialState], None]


MAX_KEY_IDS = 16
"""Unknown `kid`s waited for at once. Auth has one or two keys in flight; anyone can sign a token with a key of
their own and a made-up `kid` whose signature cannot be checked until that key arrives, so this wait is an
attacker's to fill and is kept small (past it: 401 unknown key at once, a client's retry then succeeds)."""
MAX_KEY_WAITERS = 256
"""Requests waiting for any unknown `kid` at once (the same reason)."""


class PolicyCache:
    """Current grants, API keys, revoked token ids, signing keys, credentials, budgets and breakers."""

    def __init__(self) -> None:
        self.grants: dict[str, GrantState] = {}
        self.api_keys: dict[str, ApiKeyState] = {}
        self.revoked: dict[str, TokenRevoked] = {}
        self.signing_keys: dict[str, SigningKeyState] = {}
        self.verification_keys: dict[str, VerificationKey] = {}
        self.credentials: dict[str, CredentialState] = {}
        self.budgets: dict[str, BudgetState] = {}
        self.breakers: dict[str, BreakerState] = {}
        self._owned: dict[tuple[str, str], dict[str, CredentialState]] = {}
        self._by_owner: dict[tuple[str, str], CredentialState] = {}
        self._unreported: dict[str, int] = {}
        self._revocations_since_prune = 0
        self._credential_listeners: list[CredentialListener] = []
        self._grant_arrivals = Arrivals()
        self._key_arrivals = Arrivals(max_awaited=MAX_KEY_IDS, max_waiters=MAX_KEY_WAITERS)
        self._warned_subjects: set[str] = set()
        self.foreign_states = 0
        """State events ignored because their producer does not own their subject (for tests and metrics)."""
        self._apply: dict[type[StateEvent], Callable[[StateEvent], bool]] = {
            GrantState: self._grant,
            ApiKeyState: self._api_key,
            TokenRevoked: self._revocation,
            SigningKeyState: self._signing_key,
            CredentialState: self._credential,
            BudgetState: self._budget,
            BreakerState: self._breaker,
        }

    def on_credential_change(self, listener: CredentialListener) -> None:
        """Call `listener` with every newer credential state (to drop a cached provider key)."""
        self._credential_listeners.append(listener)

    def apply(self, event: StateEvent) -> bool:
        """Take in a state event; False when it was not newer than what the cache holds."""
        handler = self._apply.get(type(event))
        if handler is None:
            raise TypeError(f"not a policy state: {type(event).__name__}")
        if not published_by_owner(event):
            self._foreign(event)
            return False
        return handler(event)

    def _foreign(self, event: StateEvent) -> None:
        self.foreign_states += 1
        subject = event.subject
        if subject in self._warned_subjects or len(self._warned_subjects) >= _MAX_WARNED_SUBJECTS:
            return
        self._warned_subjects.add(subject)
        logger.warning(
            "ignoring %s on %s from producer %r: only %s publishes it",
            type(event).__name__,
            subject,
            event.producer[:_SHOWN_PRODUCER],
            owner_of(event),
        )

    # --- waiting for state that has not arrived yet ----------------------------------

    async def wait_for_grant(self, grant_id: str, within: float) -> GrantState | None:
        """The grant, waiting up to `within` seconds for its first state if it is not here yet."""
        grant = self.grants.get(grant_id)
        if grant is None and within > 0 and await self._grant_arrivals.wait(grant_id, within):
            grant = self.grants.get(grant_id)
        return grant

    async def wait_for_signing_key(self, kid: str, within: float) -> VerificationKey | None:
        """The verification key `kid`, waiting up to `within` seconds for it if it is not here yet."""
        key = self.verification_keys.get(kid)
        if key is None and within > 0 and await self._key_arrivals.wait(kid, within):
            key = self.verification_keys.get(kid)
        return key

    # --- reads on the request path -------------------------------------------------

    def credential_for(self, tenant_id: str, provider: str) -> CredentialState | None:
        """The active credential a grant of this tenant and provider uses (the newest, if several)."""
        return self._by_owner.get((tenant_id, provider))

    def check(self, grant: GrantState, capability: Capability, model: str, now: datetime) -> None:
        """Evaluate the request against the grant, its budget and its breakers (raises ProxyError)."""
        scopes = policy.breaker_scopes(grant)
        breakers = [b for b in (self.breakers.get(scopes[0]), self.breakers.get(scopes[1])) if b is not None]
        policy.evaluate(
            grant,
            capability=capability,
            model=model,
            now=now,
            budget=self.budgets.get(grant.grant_id),
            breakers=breakers,
            unreported_requests=self._unreported.get(grant.grant_id, 0),
        )

    def note_request(self, grant_id: str) -> None:
        """Count a request let through, until the next budget state from metering covers it."""
        self._unreported[grant_id] = self._unreported.get(grant_id, 0) + 1

    # --- writers, one per entity --------------------------------------------------

    @staticmethod
    def _newer(held: StateEvent | None, event: StateEvent) -> bool:
        return held is None or event.state_version > held.state_version

    def _grant(self, event: StateEvent) -> bool:
        assert isinstance(event, GrantState)
        if not self._newer(self.grants.get(event.grant_id), event):
            return False
        self.grants[event.grant_id] = event
        self._grant_arrivals.arrived(event.grant_id)
        return True

    def _api_key(self, event: StateEvent) -> bool:
        assert isinstance(event, ApiKeyState)
        if not self._newer(self.api_keys.get(event.key_hash), event):
            return False
        self.api_keys[event.key_hash] = event
        return True

    def _revocation(self, event: StateEvent) -> bool:
        assert isinstance(event, TokenRevoked)
        if not self._newer(self.revoked.get(event.jti), event):
            return False
        self.revoked[event.jti] = event
        self._revocations_since_prune += 1
        if self._revocations_since_prune >= _PRUNE_EVERY:
            self._prune_revocations(event.occurred_at)
        return True

    def _prune_revocations(self, now: datetime) -> None:
        # A revoked token past its own expiry is refused for being expired; its entry is dead weight.
        self._revocations_since_prune = 0
        for jti in [jti for jti, r in self.revoked.items() if r.expires_at < now]:
            del self.revoked[jti]

    def _signing_key(self, event: StateEvent) -> bool:
        assert isinstance(event, SigningKeyState)
        if not self._newer(self.signing_keys.get(event.kid), event):
            return False
        self.signing_keys[event.kid] = event
        try:
            self.verification_keys[event.kid] = load_key(event)
        except ValueError as exc:
            self.verification_keys.pop(event.kid, None)
            logger.error("refusing signing key %s: %s", event.kid, exc)
        self._key_arrivals.arrived(event.kid)  # a refused key wakes its waiters too: they fail at once
        return True

    def _credential(self, event: StateEvent) -> bool:
        assert isinstance(event, CredentialState)
        held = self.credentials.get(event.credential_id)
        if not self._newer(held, event):
            return False
        self.credentials[event.credential_id] = event
        if held is not None and (held.tenant_id, held.provider) != (event.tenant_id, event.provider):
            self._owned.get((held.tenant_id, held.provider), {}).pop(held.credential_id, None)
            self._reindex((held.tenant_id, held.provider))
        self._owned.setdefault((event.tenant_id, event.provider), {})[event.credential_id] = event
        self._reindex((event.tenant_id, event.provider))
        for listener in self._credential_listeners:
            listener(event)
        return True

    def _reindex(self, owner: tuple[str, str]) -> None:
        # Ids sort by creation time, so the greatest active id is the newest credential.
        owned = self._owned.get(owner, {})
        active = [c for c in owned.values() if c.status is CredentialStatus.ACTIVE]
        if active:
            self._by_owner[owner] = max(active, key=lambda c: c.credential_id)
        else:
            self._by_owner.pop(owner, None)

    def _budget(self, event: StateEvent) -> bool:
        assert isinstance(event, BudgetState)
        if not self._newer(self.budgets.get(event.grant_id), event):
            return False
        self.budgets[event.grant_id] = event
        self._unreported.pop(event.grant_id, None)
        return True

    def _breaker(self, event: StateEvent) -> bool:
        assert isinstance(event, BreakerState)
        if not self._newer(self.breakers.get(event.scope), event):
            return False
        self.breakers[event.scope] = event
        return True
