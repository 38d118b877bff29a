"""`Bus`: one nats-py connection per process, reconnecting forever, with JetStream publishes that await PubAck.

Every nats-py exception stays inside this module: callers see `BusUnavailable`. No log line carries a
password — URLs are redacted, the password is passed to nats-py only.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from tollgate_contracts import Event, StateEvent
from tollgate_contracts.bus import ensure_streams as _ensure_streams
from tollgate_contracts.streams import ALL_STREAMS, StreamSpec
from tollgate_servicekit.errors import BusUnavailable
from tollgate_servicekit.redaction import redact_text, redact_url

__all__ = ["Ack", "Bus", "BusUnavailable", "redact_url"]

logger = logging.getLogger(__name__)

S = TypeVar("S", bound=StateEvent)

BUS_ERRORS: tuple[type[Exception], ...] = (nats.errors.Error, TimeoutError, OSError)
"""What a nats-py call may raise when the server is away or refuses; translated into `BusUnavailable`."""

ReconnectHook = Callable[[], Awaitable[None] | None]
ErrorHook = Callable[[str], None]


@dataclass(frozen=True)
class Ack:
    """JetStream's acknowledgement of a publish."""

    stream: str
    seq: int
    duplicate: bool
    """True when the server dropped this publish as a copy of one with the same message id."""


class Bus:
    """A NATS connection: `await connect()`, publish/request, `await close()`."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        user: str | None = None,
        password: str | None = None,
        inbox_prefix: str | None = None,
        publish_timeout: float = 5.0,
        connect_timeout: float = 2.0,
        reconnect_time_wait: float = 1.0,
        ping_interval: float = 120.0,
        max_outstanding_pings: int = 2,
    ) -> None:
        """`name` is the client name the server shows. With a `user` and no `inbox_prefix`, replies arrive on
        `_INBOX.<user>.…`, so the server's permissions can let each service subscribe to its own replies only.
        `ping_interval` and `max_outstanding_pings` bound how long a dead peer that sent no RST goes unnoticed
        (the proxy, which must hear revocations, pings every few seconds)."""
        self.url = url
        self.name = name
        self.user = user
        self._password = password
        self.inbox_prefix = inbox_prefix or (f"_INBOX.{user}" if user else "_INBOX")
        self.publish_timeout = publish_timeout
        self._connect_timeout = connect_timeout
        self._reconnect_time_wait = reconnect_time_wait
        self._ping_interval = ping_interval
        self._max_outstanding_pings = max_outstanding_pings
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._closing = False
        self._last_error: str | None = None
        self._hooks: list[ReconnectHook] = []
        self._error_hooks: list[ErrorHook] = []
        self._hook_tasks: set[asyncio.Task[None]] = set()
        self.reconnected = asyncio.Event()
        """Set after every reconnect; whoever waits on it clears it."""

    @property
    def display_url(self) -> str:
        """The server URL without credentials."""
        return redact_url(self.url)

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def last_error(self) -> str | None:
        """The last connection error nats-py reported (redacted), None once connected; for `/readyz` while
        `connect()` is still retrying (a wrong password shows here as an authorization error)."""
        return self._last_error

    @property
    def nc(self) -> Client:
        """The nats-py client (for subscriptions); `BusUnavailable` before `connect()` or after `close()`."""
        if self._nc is None or self._nc.is_closed:
            raise BusUnavailable("not connected to NATS")
        return self._nc

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context; `BusUnavailable` before `connect()` or after `close()`."""
        if self._js is None:
            raise BusUnavailable("not connected to NATS")
        return self._js

    def on_reconnect(self, hook: ReconnectHook) -> None:
        """Call `hook` after every reconnect (async hooks run as tasks; a failing hook is logged)."""
        self._hooks.append(hook)

    def on_error(self, hook: ErrorHook) -> None:
        """Call `hook(text)` with the redacted text of every asynchronous error nats-py reports (each one, not only
        the first of a kind). A publish the server refuses is reported only here, as `nats: permissions violation
        for publish to "<subject>"` (lower-cased): the refused request itself just times out."""
        self._error_hooks.append(hook)

    async def connect(self) -> None:
        """Connect, retrying until the server answers (cancel to give up); afterwards reconnect forever."""
        if self._nc is not None and not self._nc.is_closed:
            return
        self._closing = False
        nc = Client()
        try:
            await nc.connect(
                servers=self.url.split(","),
                name=self.name,
                user=self.user,
                password=self._password,
                inbox_prefix=self.inbox_prefix,
                allow_reconnect=True,
                max_reconnect_attempts=-1,  # also makes nats-py retry the first connection until it succeeds
                connect_timeout=self._connect_timeout,  # type: ignore[arg-type]  # typed int, takes a float
                reconnect_time_wait=self._reconnect_time_wait,  # type: ignore[arg-type]
                ping_interval=self._ping_interval,  # type: ignore[arg-type]
                max_outstanding_pings=self._max_outstanding_pings,
                drain_timeout=2,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
            )
        except BaseException:
            # Cancelled (or refused for good): leave no half-open client behind.
            await _quietly_close(nc)
            raise
        self._nc = nc
        self._js = nc.jetstream(timeout=self.publish_timeout)
        self._last_error = None
        logger.info("connected to NATS at %s as %s", self.display_url, self.user or "anonymous")

    async def publish(self, event: Event, *, msg_id: str | None = None) -> Ack:
        """Publish `event` on `event.subject` and wait for its PubAck. The message id (default: the event id)
        lets JetStream drop a retried copy within the stream's duplicate window."""
        return await self.publish_raw(event.subject, event.model_dump_json().encode(), msg_id=msg_id or event.event_id)

    async def publish_raw(
        self, subject: str, data: bytes, *, headers: Mapping[str, str] | None = None, msg_id: str | None = None
    ) -> Ack:
        """Publish bytes to a stream's subject and wait for the PubAck."""
        js = self.js
        all_headers = dict(headers or {})
        if msg_id is not None:
            all_headers["Nats-Msg-Id"] = msg_id
        try:
            ack = await js.publish(subject, data, timeout=self.publish_timeout, headers=all_headers or None)
        except BUS_ERRORS as exc:
            raise BusUnavailable(f"no PubAck for {subject}: {type(exc).__name__}") from exc
        return Ack(stream=ack.stream, seq=ack.seq, duplicate=bool(ack.duplicate))

    async def request(
        self,
        subject: str,
        data: bytes,
        *,
        timeout: float,  # noqa: ASYNC109 - the reply timeout is nats-py's, passed through
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """Send a core-NATS request and return the reply's payload."""
        nc = self.nc
        try:
            reply = await nc.request(subject, data, timeout=timeout, headers=dict(headers) if headers else None)
        except nats.errors.NoRespondersError as exc:
            raise BusUnavailable(f"nobody answers {subject}") from exc
        except BUS_ERRORS as exc:
            raise BusUnavailable(f"no reply on {subject}: {type(exc).__name__}") from exc
        return reply.data

    async def ensure_streams(self, specs: tuple[StreamSpec, ...] = ALL_STREAMS, replicas: int | None = None) -> None:
        """Create the streams, or bring existing ones to their specs (safe from every replica)."""
        try:
            await _ensure_streams(self.js, specs, replicas)
        except BUS_ERRORS as exc:
            raise BusUnavailable(f"could not ensure the streams: {type(exc).__name__}") from exc

    async def wait_for_streams(self, specs: tuple[StreamSpec, ...]) -> None:
        """Return once every stream exists; `BusUnavailable` naming the first missing one until then (a start-up
        step, retried until auth has created them). For services that create no stream, so their NATS user needs
        no right to create or reconfigure one."""
        js = self.js
        for spec in specs:
            try:
                await js.stream_info(spec.name)
            except nats.js.errors.NotFoundError:
                raise BusUnavailable(f"stream {spec.name} does not exist yet (auth creates the streams)") from None
            except BUS_ERRORS as exc:
                raise BusUnavailable(f"cannot look up stream {spec.name}: {type(exc).__name__}") from exc

    async def last_state(self, state: type[S], key: str, *, what: str, strict: bool = False) -> S | None:
        """`key`'s last `state` by one direct get, believed only from its owner (`nats_state.last_state`)."""
        from tollgate_servicekit.nats_state import last_state

        return await last_state(self, state, key, what=what, strict=strict)

    async def close(self) -> None:
        """Drain (deliver what is in flight, then close); just close when the server is away."""
        nc, self._nc, self._js = self._nc, None, None
        self._closing = True
        for task in list(self._hook_tasks):
            task.cancel()
        if nc is None or nc.is_closed:
            return
        if not nc.is_connected:
            # Draining needs the server; while it is away, drain would only wait out its timeout.
            await _quietly_close(nc)
            return
        try:
            await nc.drain()
        except BUS_ERRORS as exc:
            logger.warning("NATS drain failed (%s); closing", type(exc).__name__)
            await _quietly_close(nc)

    async def _on_error(self, exc: Exception) -> None:
        # nats-py reports the same failure every reconnect attempt: say it once, until something changes.
        text = redact_text(str(exc))
        for hook in self._error_hooks:
            try:
                hook(text)
            except Exception:
                logger.exception("NATS error hook %s failed", getattr(hook, "__qualname__", hook))
        kind = f"{type(exc).__name__}: {text}"
        if kind != self._last_error:
            self._last_error = kind
            logger.warning("NATS %s: %s", self.display_url, kind)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            logger.warning("disconnected from NATS at %s", self.display_url)

    async def _on_reconnected(self) -> None:
        self._last_error = None
        logger.info("reconnected to NATS at %s", self.display_url)
        self.reconnected.set()
        for hook in self._hooks:
            self._start_hook(hook)

    def _start_hook(self, hook: ReconnectHook) -> None:
        async def run() -> None:
            try:
                result = hook()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("reconnect hook %s failed", getattr(hook, "__qualname__", hook))

        # Hooks run beside nats-py's reconnect loop, never inside it (a hook may publish, which needs that loop).
        task = asyncio.create_task(run(), name=f"{self.name}-reconnect-hook")
        self._hook_tasks.add(task)
        task.add_done_callback(self._hook_tasks.discard)


async def _quietly_close(nc: Client) -> None:
    try:
        await nc.close()
    except BUS_ERRORS as exc:
        logger.debug("closing NATS: %s", type(exc).__name__)
