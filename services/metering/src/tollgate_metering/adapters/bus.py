"""NATS JetStream: the connection, state publishing with PubAck, the shared usage pull consumer, and a
follower of a state stream (last message per subject, then live).

Foreign exceptions (nats-py's) are translated here into BusUnavailable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tollgate_contracts import StateEvent
from tollgate_metering.domain.errors import BusUnavailable
from tollgate_metering.stopping import sleep_unless_stopped, unless_stopped

logger = logging.getLogger(__name__)

BUS_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)
"""What nats-py raises when the bus is unreachable or slow; every one is worth a retry."""


async def connect(url: str, user: str | None, password: str | None, name: str) -> NATS:
    """Connect to NATS and keep reconnecting for ever after. Never logs the URL (it may carry credentials)."""

    connected: list[NATS] = []

    async def on_error(exc: Exception) -> None:
        # nats-py error texts name subjects and permissions, never credentials: worth showing.
        logger.warning("NATS error: %s: %s", type(exc).__name__, exc)

    async def on_disconnected() -> None:
        if not (connected and connected[0].is_closed):
            logger.warning("disconnected from NATS; reconnecting")

    async def on_reconnected() -> None:
        logger.info("reconnected to NATS")

    try:
        nc = await nats.connect(
            servers=[url],
            user=user,
            password=password,
            name=name,
            connect_timeout=2,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )
    except BUS_ERRORS as exc:
        raise BusUnavailable(f"cannot connect to NATS: {type(exc).__name__}") from exc
    connected.append(nc)
    return nc


class JetStreamPublisher:
    """The `StatePublisher` port: publishes to JetStream and waits for the PubAck."""

    def __init__(self, js: JetStreamContext, timeout: float = 5.0) -> None:
        self.js = js
        self.timeout = timeout

    async def publish(self, event: StateEvent) -> None:
        # No Nats-Msg-Id: re-publishing the same version must land on the stream, so a newer state that a slower
        # replica overwrote with an older one can be put back on top (see Metering.publish_budget).
        try:
            await self.js.publish(event.subject, event.model_dump_json().encode(), timeout=self.timeout)
        except BUS_ERRORS as exc:
            raise BusUnavailable(f"publish to {event.subject} failed: {type(exc).__name__}") from exc


BatchHandler = Callable[[list[Msg]], Awaitable[None]]
MessageHandler = Callable[[Msg], Awaitable[None]]


class PullConsumer:
    """A durable pull consumer shared by every replica: each message goes to one replica, and stays pending
    until that replica acknowledges it (or is redelivered after `ack_wait`).

    Why nats-py and not a FastStream subscriber (tried with FastStream 0.7.8's `PullSub(batch=True)` and
    `AckPolicy.MANUAL`, which can ack, nak and term each message of a batch through `NatsBatchMessage`):
    - its batch loop fills a batch until `timeout` has passed (`BatchPullStreamSubscriber._consume_pull`),
      so a lone usage record waits the whole timeout before it is counted (measured: 2.0 s at `timeout=2`),
      where `fetch` here returns what has arrived at once; a short timeout instead polls the server all day;
    - a poison record must be terminated on its own, so the handler has to take the raw messages, not
      `list[UsageRecorded]`: the AsyncAPI document would not get its payload schema from it anyway;
    - a fetch error other than timeout/closed/unavailable ends its task, which FastStream restarts at once,
      without back-off, logging only the first of identical errors per hour, and nothing tells `/readyz`;
    - it opens a connection of its own beside the service's (a second login, a second set of callbacks).
    """

    def __init__(
        self,
        js: JetStreamContext,
        *,
        stream: str,
        subject: str,
        durable: str,
        batch: int,
        fetch_timeout: float,
        ack_wait: float,
        retry_delay: float,
    ) -> None:
        self.js = js
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.retry_delay = retry_delay
        self.config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=subject,
            ack_wait=ack_wait,
            max_deliver=-1,
            max_ack_pending=10_000,
        )
        self._sub: JetStreamContext.PullSubscription | None = None

    async def subscribe(self) -> None:
        """Create the durable consumer if it is missing (every replica may try; identical configs agree)."""
        try:
            self._sub = await self.js.pull_subscribe(
                self.subject, durable=self.durable, stream=self.stream, config=self.config
            )
        except BUS_ERRORS as exc:
            raise BusUnavailable(f"cannot bind consumer {self.durable}: {type(exc).__name__}") from exc

    async def run(self, handle: BatchHandler, stop: asyncio.Event) -> None:
        """Fetch batches and hand them to `handle` until `stop` is set. A batch being handled is finished
        before returning; only an idle fetch is abandoned."""
        if self._sub is None:
            await self.subscribe()
        assert self._sub is not None
        while not stop.is_set():
            try:
                msgs = await unless_stopped(self._sub.fetch(self.batch, timeout=self.fetch_timeout), stop)
            except nats.errors.TimeoutError:
                continue
            except BUS_ERRORS as exc:
                logger.warning("fetching usage records failed (%s); retrying", type(exc).__name__)
                await sleep_unless_stopped(self.retry_delay, stop)
                continue
            if msgs:  # None when stopped while idle
                await handle(msgs)

    async def close(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except BUS_ERRORS as exc:
                logger.info("unsubscribe failed on close: %s", type(exc).__name__)
            self._sub = None


class StateFollower:
    """Replays the last message of every subject of a state stream, then follows live updates, in order.

    nats-py, not FastStream: this is an ordered consumer (`ordered_consumer=True`, `LAST_PER_SUBJECT`) whose
    end of replay is judged from message metadata, and FastStream 0.7.8 has no ordered consumer.

    `caught_up` is set once the replay has reached what the stream held when following began.
    """

    def __init__(self, js: JetStreamContext, *, stream: str, subject: str) -> None:
        self.js = js
        self.stream = stream
        self.subject = subject
        self.caught_up = asyncio.Event()

    async def run(self, handle: MessageHandler) -> None:
        try:
            info = await self.js.stream_info(self.stream)
            # The stream's newest message is the last of its subject, so the replay always ends with it.
            target = info.state.last_seq if info.state.messages else 0
            sub = await self.js.subscribe(
                self.subject,
                stream=self.stream,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
            )
        except BUS_ERRORS as exc:
            raise BusUnavailable(f"cannot follow {self.stream}: {type(exc).__name__}") from exc
        if target == 0:
            self.caught_up.set()
        try:
            async for msg in sub.messages:
                await handle(msg)
                if not self.caught_up.is_set():
                    meta = msg.metadata
                    if meta.sequence.stream >= target or meta.num_pending == 0:
                        self.caught_up.set()
        finally:
            try:
                await sub.unsubscribe()
            except BUS_ERRORS as exc:
                logger.info("unsubscribe failed on close: %s", type(exc).__name__)
