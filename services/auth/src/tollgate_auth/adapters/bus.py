"""The JetStream publisher (nats-py): every publish waits for its PubAck.

nats-py errors are translated here into `BusUnavailable`; nothing above this module sees a nats exception.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit, urlunsplit

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from tollgate_auth.domain.errors import BusUnavailable
from tollgate_contracts import Event
from tollgate_contracts.bus import ensure_streams

log = logging.getLogger(__name__)


def redact_url(url: str) -> str:
    """The URL without user and password, fit for a log line."""
    parts = urlsplit(url)
    if parts.hostname is None:
        return parts.scheme + "://?"
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class NatsBus:
    """One NATS connection that reconnects forever; `reconnected` is set after each reconnect."""

    def __init__(
        self, url: str, *, user: str | None = None, password: str | None = None, publish_timeout: float = 5.0
    ) -> None:
        self._url = url
        self._user = user
        self._password = password
        self._publish_timeout = publish_timeout
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._closing = False
        self.reconnected = asyncio.Event()

    async def connect(self) -> None:
        """Connect, retrying until the server answers (cancel to give up)."""
        self._nc = await nats.connect(
            servers=[self._url],
            user=self._user,
            password=self._password,
            name="tollgate-auth",
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            connect_timeout=2,
            reconnect_time_wait=1,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self._js = self._nc.jetstream(timeout=self._publish_timeout)
        log.info("connected to NATS at %s", redact_url(self._url))

    async def ensure_streams(self) -> None:
        try:
            await ensure_streams(self._jetstream())
        except (nats.errors.Error, TimeoutError) as exc:
            raise BusUnavailable(f"could not ensure the streams: {type(exc).__name__}: {exc}") from exc

    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def publish(self, event: Event) -> None:
        js = self._jetstream()
        # The event id as message id lets JetStream drop a retried copy of the same event.
        headers = {"Nats-Msg-Id": event.event_id}
        try:
            await js.publish(event.subject, event.model_dump_json().encode(), headers=headers)
        except (nats.errors.Error, TimeoutError) as exc:
            raise BusUnavailable(f"no PubAck for {event.subject}: {type(exc).__name__}") from exc

    async def close(self) -> None:
        self._closing = True
        if self._nc is not None and not self._nc.is_closed:
            try:
                await self._nc.drain()
            except (nats.errors.Error, TimeoutError) as exc:
                log.warning("NATS drain failed (%s); closing", type(exc).__name__)
                await self._nc.close()
        self._nc = None
        self._js = None

    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise BusUnavailable("not connected to the event bus")
        return self._js

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS: %s: %s", type(exc).__name__, exc)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("disconnected from NATS at %s", redact_url(self._url))

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS at %s", redact_url(self._url))
        self.reconnected.set()
