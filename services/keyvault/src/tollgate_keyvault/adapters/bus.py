"""Keyvault's JetStream side, over servicekit's `Bus`: credential state and audit events with PubAck, and the
streams they go to.

Keyvault does not create streams (auth does, for everyone): it waits until the two it publishes to exist
(`Bus.wait_for_streams(PUBLISHED_STREAMS)`), so its NATS user needs no stream-admin rights. The seal responder
is not here: it runs on FastStream (`consumers.py`).
"""

from __future__ import annotations

import logging

from tollgate_contracts import AuditEvent, CredentialState
from tollgate_contracts.streams import AUDIT, CREDENTIALS, StreamSpec
from tollgate_servicekit.errors import BusUnavailable
from tollgate_servicekit.nats import Bus

logger = logging.getLogger(__name__)

PUBLISHED_STREAMS: tuple[StreamSpec, ...] = (CREDENTIALS, AUDIT)
"""The streams keyvault publishes to; it is ready only once they exist."""


class BusPublisher:
    """`Publisher` over a connected `Bus`."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def publish_state(self, state: CredentialState) -> None:
        # Same entity and version → same message id: a replica republishing at start is de-duplicated.
        try:
            await self._bus.publish(state, msg_id=f"{state.subject}:{state.state_version}")
        except BusUnavailable as exc:
            raise BusUnavailable(
                f"the change is stored, but the bus did not acknowledge its event ({exc.message}); "
                "it is republished at the next start"
            ) from exc

    async def publish_audit(self, event: AuditEvent) -> None:
        await self._bus.publish(event)
