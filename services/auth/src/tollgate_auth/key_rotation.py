"""Signing-key use cases: which key signs, the JWKS, and rotation, on demand and on a schedule.

The rules are the domain's (`domain/signing_keys.py`); this module orders the I/O so that they hold:

1. a new key is stored `pending`, and its state is published and acknowledged by JetStream (PubAck);
2. only then is it made `active` in the database and in this process's list, so it signs from now on;
3. every older active key is retired (it verifies until `not_after`), and its state published.

If step 1 is not acknowledged, rotation fails with `BusUnavailable` and nothing signs with the new key: the
scheduled check publishes and activates it once the bus is back. Other replicas see the new key when their
check reloads the keys (every `check` interval, which the overlap allows for). A retired key past `not_after`
gets one final state, so followers drop it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from tollgate_auth.domain.errors import NotReady, Unavailable
from tollgate_auth.domain.signing_keys import (
    KeyPhase,
    KeyStatus,
    RotationPolicy,
    SigningKey,
    activate,
    current_signer,
    finalize,
    jwks,
    phase,
    plan,
    retire,
    signing_key_state,
    superseded,
)
from tollgate_auth.ports import Clock, Signer, SigningKeyStore
from tollgate_auth.publishing import Outbox, Ref
from tollgate_contracts import AuditEvent

log = logging.getLogger(__name__)

_TICK = timedelta(microseconds=1)

AuditFactory = Callable[[str, str, str | None, dict[str, Any]], AuditEvent]
"""(action, target id, tenant id, details) → an audit event (the service's `_audit`)."""


class SigningKeys:
    """The signing keys of one auth process: the list it signs from, kept in step with the database."""

    def __init__(
        self,
        *,
        store: SigningKeyStore,
        outbox: Outbox,
        signer: Signer,
        clock: Clock,
        policy: RotationPolicy,
        audit: AuditFactory,
        producer: str,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.signer = signer
        self.clock = clock
        self.policy = policy
        self._audit = audit
        self._producer = producer
        self._lock = asyncio.Lock()
        """One rotation or check at a time in this process (replicas converge through the store's versions)."""
        self.keys: list[SigningKey] = []
        """Every stored key, oldest first, as last loaded; replaced whole, never mutated (threads read it)."""
        self._loaded_at: float | None = None
        self._reloading = asyncio.Lock()

    # -- reads ---------------------------------------------------------------------------------------------------

    def signer_key(self) -> SigningKey:
        """The key that signs now; `NotReady` before one is loaded."""
        key = current_signer(self.keys)
        if key is None:
            raise NotReady("no signing key loaded yet")
        return key

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return jwks(self.keys, self.clock.now())

    def described(self) -> list[tuple[SigningKey, KeyPhase]]:
        """Every key with its phase now, newest first."""
        now = self.clock.now()
        return [(k, phase(k, now)) for k in sorted(self.keys, key=lambda k: (k.created_at, k.kid), reverse=True)]

    async def reload(self) -> list[SigningKey]:
        self.keys = await self.store.list_signing_keys()
        self._loaded_at = time.monotonic()
        return self.keys

    async def fresh_jwks(self, max_age: float) -> dict[str, list[dict[str, str]]]:
        """The JWKS from keys at most `max_age` seconds old: a key another replica just made active is served here
        too, without waiting for this replica's next check. One reload at a time; an unreachable database serves
        the keys already loaded."""
        if self._stale(max_age):
            async with self._reloading:
                if self._stale(max_age):
                    try:
                        await self.reload()
                    except Unavailable as exc:
                        log.warning("serving the JWKS as last loaded: %s", exc.message)
        return self.jwks()

    def _stale(self, max_age: float) -> bool:
        return self._loaded_at is None or time.monotonic() - self._loaded_at > max_age

    # -- rotation ------------------------------------------------------------------------------------------------

    async def rotate(self) -> SigningKey:
        """A new signing key, on the bus before it signs anything; older active keys retire. Returns the new key.

        `BusUnavailable` (nothing signs with the new key yet) when the bus does not acknowledge its state.
        """
        self.outbox.require_bus()
        async with self._lock:
            return await self._rotate()

    async def _rotate(self) -> SigningKey:
        await self.reload()
        # "Newest" is by creation time: a new key is always created after every key this replica knows.
        created = max([self.clock.now(), *(k.created_at + _TICK for k in self.keys)])
        key = replace(self.signer.generate(created), status=KeyStatus.PENDING)
        await self.store.add_signing_key(key)
        log.info("rotating: new signing key %s (pending until published)", key.kid)
        audit = self._audit("signing_key.created", key.kid, None, {"alg": key.alg})
        active = await self._publish_and_activate(key, audit, strict=True)
        await self.reload()
        for old in superseded(self.keys):
            await self._retire(old)
        await self.reload()
        return active

    async def check(self) -> None:
        """The scheduled pass: finish interrupted rotations, retire superseded keys, publish the final state of
        keys past their overlap, and rotate when the signer is due. Transient failures raise `Unavailable`."""
        async with self._lock:
            keys = await self.reload()
            for pending in plan(keys, self.clock.now(), self.policy).activate:
                await self._publish_and_activate(pending, None, strict=False)
            keys = await self.reload()
            todo = plan(keys, self.clock.now(), self.policy)
            for old in todo.retire:
                await self._retire(old)
            for gone in todo.finalize:
                await self._finalize(gone)
            if todo.rotate:
                self.outbox.require_bus()
                await self._rotate()
            else:
                await self.reload()

    async def _publish_and_activate(self, key: SigningKey, audit: AuditEvent | None, *, strict: bool) -> SigningKey:
        ref: Ref = ("signing_key", key.kid)
        async with self.outbox.lock(ref):
            if strict:
                # Raises BusUnavailable unless acknowledged: the key then stays pending and signs nothing.
                await self.outbox.announce(ref, signing_key_state(key, self._producer), audit)
            elif not await self.outbox.send_state(ref, signing_key_state(key, self._producer)):
                return key
            active, changed = await self.store.update_signing_key(key.kid, lambda k: activate(k, self.clock.now()))
            if changed:
                log.info("signing key %s is active", key.kid)
                # Same public content as the pending state; a new version keeps the bus in step with the database.
                await self.outbox.send_state(ref, signing_key_state(active, self._producer))
        return active

    async def _retire(self, key: SigningKey) -> None:
        ref: Ref = ("signing_key", key.kid)
        async with self.outbox.lock(ref):
            retired, changed = await self.store.update_signing_key(
                key.kid, lambda k: retire(k, self.clock.now(), self.policy)
            )
            if not changed:
                return
            log.info("signing key %s retired; verifies until %s", key.kid, retired.not_after)
            details = {"not_after": retired.not_after.isoformat() if retired.not_after else None}
            audit = self._audit("signing_key.retired", key.kid, None, details)
            # Not strict: the key stops signing either way, and an unacknowledged state is retried.
            if await self.outbox.send_state(ref, signing_key_state(retired, self._producer)):
                await self.outbox.publish_audit(audit)
            else:
                self.outbox.queue_audit(audit)

    async def _finalize(self, key: SigningKey) -> None:
        ref: Ref = ("signing_key", key.kid)
        async with self.outbox.lock(ref):
            final, changed = await self.store.update_signing_key(key.kid, lambda k: finalize(k, self.clock.now()))
            if changed:
                log.info("signing key %s is past its overlap and no longer published", key.kid)
                await self.outbox.send_state(ref, signing_key_state(final, self._producer))
