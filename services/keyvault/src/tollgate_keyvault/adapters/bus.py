"""NATS (nats-py): JetStream publishes with PubAck, the streams at start, and the `keyvault.seal.v1` responder.

nats-py errors are translated here into `BusUnavailable`. Nothing logged here
carries a server URL (it may hold credentials) or a payload.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from tollgate_contracts import AuditEvent, CredentialState, SealRequest
from tollgate_contracts.bus import ensure_streams
from tollgate_keyvault.domain.errors import BusUnavailable

logger = logging.getLogger(__name__)

SEAL_QUEUE = "keyvault"
_USERINFO = re.compile(r"//[^/@\s]*@")

Respond = Callable[[bytes], Awaitable[None]]
SealHandler = Callable[[bytes, Respond], Awaitable[None]]
"""Handles a raw request, answering through `Respond` (at most once); must not raise."""


def _redact(text: str) -> str:
    return _USERINFO.sub("//***@", text)


class NatsBus:
    """One NATS connection: publisher of credential state and audit events, and the seal responder."""

    def __init__(
        self,
        url: str,
        user: str | None = None,
        password: str | None = None,
        name: str = "tollgate-keyvault",
        publish_timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._user = user
        self._password = password
        self._name = name
        self._publish_timeout = publish_timeout
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._responder: Subscription | None = None
        self._last_error: str | None = None
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def connect(self) -> None:
        """Connect (reconnecting for ever afterwards) and make sure every stream exists."""
        if self._nc is None:
            self._nc = await nats.connect(
                servers=[self._url],
                user=self._user,
                password=self._password,
                name=self._name,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                drain_timeout=2,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
            )
            self._js = self._nc.jetstream(timeout=self._publish_timeout)
        assert self._js is not None
        await ensure_streams(self._js)

    async def serve_seal(self, handler: SealHandler) -> None:
        """Answer `keyvault.seal.v1` in queue group `keyvault` (replicas share the requests)."""
        if self._nc is None:
            raise BusUnavailable("not connected")
        if self._responder is not None:
            return

        async def on_request(msg: Msg) -> None:
            if not msg.reply:
                logger.warning("seal request without a reply subject ignored")
                return

            async def respond(reply: bytes) -> None:
                try:
                    await msg.respond(reply)
                except nats.errors.Error as exc:
                    logger.warning("seal reply not sent: %s", _redact(str(exc)))

            await handler(msg.data, respond)

        self._responder = await self._nc.subscribe(SealRequest.subject, queue=SEAL_QUEUE, cb=on_request)

    async def publish_state(self, state: CredentialState) -> None:
        # Same entity and version → same message id: a replica republishing at start is de-duplicated.
        msg_id = f"{state.subject}:{state.state_version}"
        await self._publish(state.subject, state.model_dump_json().encode(), msg_id)

    async def publish_audit(self, event: AuditEvent) -> None:
        await self._publish(event.subject, event.model_dump_json().encode(), event.event_id)

    async def _publish(self, subject: str, payload: bytes, msg_id: str) -> None:
        if self._js is None or not self.connected:
            raise BusUnavailable("not connected to NATS")
        try:
            await self._js.publish(subject, payload, timeout=self._publish_timeout, headers={"Nats-Msg-Id": msg_id})
        except (TimeoutError, nats.errors.Error) as exc:
            raise BusUnavailable(f"publish on {subject} not acknowledged: {type(exc).__name__}") from None

    async def close(self) -> None:
        nc, self._nc, self._js, self._responder = self._nc, None, None, None
        self._closing = True
        if nc is None or nc.is_closed:
            return
        if not nc.is_connected:
            # Draining needs the server; while it is away, drain would only wait out its timeout.
            await nc.close()
            return
        try:
            await nc.drain()
        except (TimeoutError, nats.errors.Error) as exc:
            logger.warning("NATS drain failed (%s); closing", type(exc).__name__)
            await nc.close()

    async def _on_error(self, exc: Exception) -> None:
        # nats-py retries every second while the server is away: say so once, not every second.
        kind = type(exc).__name__
        level = logging.DEBUG if kind == self._last_error else logging.WARNING
        self._last_error = kind
        logger.log(level, "NATS error: %s: %s", kind, _redact(str(exc)))

    async def _on_disconnected(self) -> None:
        if not self._closing:
            logger.warning("disconnected from NATS")

    async def _on_reconnected(self) -> None:
        self._last_error = None
        logger.info("reconnected to NATS")
