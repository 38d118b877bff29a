"""How auth's changes reach the bus. No framework types; the bus is the `Publisher` port.

Rules:
- a change is saved first, then its full state is published; the caller hears back only after the
  PubAck (or gets `BusUnavailable`, and the state is retried in the background until it lands);
- changes to one entity and their publications are serialised by a per-entity lock, so the last
  message on an entity's subject is always its newest state;
- a state that was not acknowledged is remembered by reference only: each retry reads the entity again
  from the database (the durable half of this outbox), so it sends the newest state, never a stale one;
- audit events are published beside the state and retried until acknowledged, de-duplicated by
  their event id; a missing audit acknowledgement never fails a request.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from tollgate_auth.domain.errors import BusUnavailable
from tollgate_auth.ports import Clock, Ids, Publisher
from tollgate_contracts import AuditEvent, StateEvent

log = logging.getLogger(__name__)

PRODUCER = "auth"
"""Auth's `producer` on every event it publishes, and the `service` of its audit events."""

REPUBLISH_CONCURRENCY = 64

Kind = Literal["tenant", "grant", "apikey", "signing_key"]
Ref = tuple[Kind, str]
"""An entity whose state is published: its kind and its id (a signing key's kid)."""


def audit_event(
    clock: Clock, ids: Ids, action: str, actor: str, target_id: str, tenant_id: str | None, details: dict[str, Any]
) -> AuditEvent:
    """An audit event of auth's, happening now."""
    return AuditEvent(
        producer=PRODUCER,
        occurred_at=clock.now(),
        event_id=ids.new_id("evt"),
        service=PRODUCER,
        action=action,
        actor=actor,
        target_id=target_id,
        tenant_id=tenant_id,
        details=details,
    )


class Outbox:
    """Publishes states and audit events, remembers what was not acknowledged, and sends it again."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self._locks: weakref.WeakValueDictionary[Ref, asyncio.Lock] = weakref.WeakValueDictionary()
        self._published: dict[Ref, int] = {}
        self._pending: set[Ref] = set()
        self._pending_audit: dict[str, AuditEvent] = {}

    @property
    def has_pending(self) -> bool:
        return bool(self._pending or self._pending_audit)

    def require_bus(self) -> None:
        """Refuse a change up front while the bus is down: "saved but not published" stays the rare case of a
        bus lost mid-request."""
        if not self.publisher.is_connected:
            raise BusUnavailable("the event bus is unreachable; nothing was changed, try again shortly")

    def lock(self, ref: Ref) -> asyncio.Lock:
        """The lock serialising changes to one entity and their publications."""
        lock = self._locks.get(ref)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[ref] = lock
        return lock

    def mark_pending(self, refs: Sequence[Ref]) -> None:
        """States to publish once the bus is there (saved before it was)."""
        self._pending.update(refs)

    async def announce(self, ref: Ref, state: StateEvent, audit: AuditEvent | None) -> None:
        """Publish a change's state and audit event together (the caller holds the entity's lock); raise
        `BusUnavailable` unless the state landed."""
        if audit is not None:
            audit = audit.model_copy(update={"correlation_id": state.event_id})
        sent, _ = await asyncio.gather(self.send_state(ref, state), self.publish_audit(audit))
        if not sent:
            raise BusUnavailable(
                "the change was saved but the event bus did not acknowledge it; it will be published when the bus "
                "is back (retrying the request is safe)"
            )

    async def send_state(self, ref: Ref, state: StateEvent) -> bool:
        """Publish one state (the caller holds the entity's lock). False if it was not acknowledged."""
        if self._published.get(ref, 0) > state.state_version:
            # A newer version went out while this snapshot waited for the lock.
            self._pending.discard(ref)
            return True
        try:
            await self.publisher.publish(state)
        except BusUnavailable as exc:
            log.warning("%s %s v%d not published: %s", ref[0], ref[1], state.state_version, exc.message)
            self._pending.add(ref)
            return False
        self._published[ref] = max(self._published.get(ref, 0), state.state_version)
        self._pending.discard(ref)
        return True

    def queue_audit(self, event: AuditEvent) -> None:
        """An audit event to publish with the next flush (written before the bus was there)."""
        self._pending_audit[event.event_id] = event

    async def publish_audit(self, event: AuditEvent | None) -> None:
        """Publish now, or queue for retry; never raises for a missing acknowledgement."""
        if event is None:
            return
        try:
            await self.publisher.publish(event)
        except BusUnavailable as exc:
            log.warning("audit event %s (%s) queued for retry: %s", event.event_id, event.action, exc.message)
            self.queue_audit(event)

    async def flush_audit(self) -> None:
        for event_id, event in list(self._pending_audit.items()):
            try:
                await self.publisher.publish(event)
            except BusUnavailable:
                return
            self._pending_audit.pop(event_id, None)

    async def republish(self, states: Sequence[tuple[Ref, StateEvent]]) -> int:
        """Publish every given state again (consumers keep the newest version), then the queued audit events.

        Raises `BusUnavailable` if any state was not acknowledged (those are retried later).
        """
        gate = asyncio.Semaphore(REPUBLISH_CONCURRENCY)

        async def one(ref: Ref, state: StateEvent) -> bool:
            async with gate, self.lock(ref):
                return await self.send_state(ref, state)

        results = await asyncio.gather(*(one(ref, state) for ref, state in states))
        await self.flush_audit()
        if not all(results):
            raise BusUnavailable(f"{results.count(False)} of {len(results)} states were not acknowledged")
        return len(results)

    async def retry_pending(self, load: Callable[[Ref], Awaitable[StateEvent | None]]) -> None:
        """Publish again every state that was not acknowledged, as `load` reads it now (None: the entity is gone),
        and every queued audit event."""
        for ref in list(self._pending):
            async with self.lock(ref):
                state = await load(ref)
                if state is None:
                    self._pending.discard(ref)
                else:
                    await self.send_state(ref, state)
        await self.flush_audit()
