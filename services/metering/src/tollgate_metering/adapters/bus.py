"""NATS JetStream through `tollgate_servicekit.nats.Bus`: state publishing with PubAck, the shared usage pull
consumer, and a follower of a state stream (last message per subject, then live). The pull consumer and the
follower are nats-py's own subscriptions (see their docstrings for why).

Foreign exceptions (nats-py's) are translated here into BusUnavailable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tollgate_contracts import StateEvent
from tollgate_metering.domain.errors import BusUnavailable
from tollgate_servicekit.nats import BUS_ERRORS, Bus
from tollgate_servicekit.redaction import clip

logger = logging.getLogger(__name__)

BatchHandler = Callable[[list[Msg]], Awaitable[None]]
MessageHandler = Callable[[Msg], Awaitable[None]]


class BusPublisher:
    """The `StatePublisher` port: a JetStream publish that returns once the PubAck is in."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def publish(self, event: StateEvent) -> None:
        # The message id is the event id (Bus's default): a retried send of this very event is dropped by the
        # server, while a re-publish of the same state version is a new event and lands, so a newer state that a
        # slower replica covered with an older one can be put back on top (see Metering.publish_budgets).
        await self.bus.publish(event)


async def finish_in_hand(work: Awaitable[None]) -> None:
    """Run `work` to its end even if the calling task is cancelled meanwhile, then let the cancellation through:
    on stop, a batch in hand is stored and acknowledged rather than left to a redelivery. (A second cancel while
    waiting cancels the work too.)"""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await task
        raise


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
        bus: Bus,
        *,
        stream: str,
        subject: str,
        durable: str,
        batch: int,
        fetch_timeout: float,
        ack_wait: float,
        retry_delay: float,
    ) -> None:
        self.bus = bus
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
        # A refused fetch or ack is no exception: the server says so on the connection's error callback and the
        # fetch just times out, which would look like an idle stream. Refusals naming this consumer are counted
        # per fetch cycle, so `problem` shows one at once and clears one cycle after they stop.
        self._consumer_subjects = f".{stream}.{durable}".lower()
        self._cycle = 0
        self._refused_in_cycle: int | None = None
        self._refusal = ""
        self._failure: str | None = None
        bus.on_error(self._on_bus_error)

    @property
    def problem(self) -> str | None:
        """Why the consumer is not consuming (refused by NATS permissions, or fetches failing), else None."""
        if self._refused_in_cycle is not None and self._refused_in_cycle >= self._cycle - 1:
            return f"the usage consumer is refused by NATS: {clip(self._refusal, 200)}"
        return self._failure

    def _on_bus_error(self, text: str) -> None:
        lowered = text.lower()
        if "permissions violation" in lowered and self._consumer_subjects in lowered:
            self._refused_in_cycle, self._refusal = self._cycle, text

    async def subscribe(self) -> None:
        """Create the durable consumer if it is missing (every replica may try; identical configs agree)."""
        try:
            self._sub = await self.bus.js.pull_subscribe(
                self.subject, durable=self.durable, stream=self.stream, config=self.config
            )
        except BUS_ERRORS as exc:
            why = self.problem or type(exc).__name__
            raise BusUnavailable(f"cannot bind consumer {self.durable}: {why}") from exc

    async def run(self, handle: BatchHandler) -> None:
        """Fetch batches and hand them to `handle` until cancelled. A batch being handled is finished first
        (`finish_in_hand`); only an idle fetch is abandoned."""
        while self._sub is None:
            try:
                await self.subscribe()
            except BusUnavailable as exc:
                self._failure = exc.message
                logger.warning("%s; retrying", exc.message)
                await asyncio.sleep(self.retry_delay)
        while True:
            self._cycle += 1
            try:
                msgs = await self._sub.fetch(self.batch, timeout=self.fetch_timeout)
            except nats.errors.TimeoutError:
                self._failure = None  # idle (or refused: see `problem`)
                continue
            except BUS_ERRORS as exc:
                self._failure = f"fetching usage records failed: {type(exc).__name__}"
                logger.warning("%s; retrying", self._failure)
                await asyncio.sleep(self.retry_delay)
                continue
            self._failure = None
            await finish_in_hand(handle(msgs))

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

    def __init__(self, bus: Bus, *, stream: str, subject: str) -> None:
        self.bus = bus
        self.stream = stream
        self.subject = subject
        self.caught_up = asyncio.Event()

    async def run(self, handle: MessageHandler) -> None:
        """Follow until cancelled or the subscription ends; BusUnavailable when it cannot start."""
        try:
            js = self.bus.js
            info = await js.stream_info(self.stream)
            # The stream's newest message is the last of its subject, so the replay always ends with it.
            target = info.state.last_seq if info.state.messages else 0
            sub = await js.subscribe(
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
