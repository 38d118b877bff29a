"""The `keyvault.seal.v1` responder, on FastStream: decode the request, call the service, answer, then audit.

It runs in queue group `keyvault` (replicas share the requests) and answers every request with a `SealReply`,
never an error or silence: a request that does not validate is answered `invalid_request`, an unexpected failure
`internal` (both by the exception middleware below, so the handler's signature — and the AsyncAPI document made
from it, `asyncapi_broker()` — shows the real `SealRequest` payload; FastStream 0.7 documents no reply schema, so
`SealReply` is described by the contracts' document).

The audit event of a seal is published after the answer (`AfterReply`, drained by a supervised task), so a slow
JetStream never delays a proxy waiting for its key.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from faststream.middlewares import ExceptionMiddleware
from faststream.nats import NatsBroker, NatsMessage, NatsRouter
from faststream.security import SASLPlaintext
from pydantic import ValidationError

from tollgate_contracts import ErrorCode, SealReply, SealRequest
from tollgate_contracts.permissions import SEAL_QUEUE, inbox_prefix
from tollgate_keyvault.service import Sealing
from tollgate_servicekit.nats import BUS_ERRORS
from tollgate_servicekit.supervisor import describe, frames

logger = logging.getLogger(__name__)

_MAX_ID_ECHO = 64
_MAX_PENDING_AUDITS = 10_000

Seal = Callable[[SealRequest], Awaitable[Sealing]]


class AfterReply:
    """Audit events of answered seals, published by `run()` (a supervised task) once the reply has gone."""

    def __init__(self, record: Callable[[Sealing], Awaitable[None]]) -> None:
        self._record = record
        self._queue: asyncio.Queue[Sealing] = asyncio.Queue(_MAX_PENDING_AUDITS)

    def put(self, sealing: Sealing) -> None:
        if sealing.audit is None:
            return
        try:
            self._queue.put_nowait(sealing)
        except asyncio.QueueFull:
            # The bus has been refusing audits for a long while already (each failure is logged by `record`).
            logger.error("audit of seal %s dropped: %d audits are waiting", sealing.audit.target_id, self.pending)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        """Publish queued audits for as long as the service runs (`record` logs a publish that fails)."""
        while True:
            sealing = await self._queue.get()
            await self._record(sealing)


def seal_router(seal: Seal, after_reply: Callable[[Sealing], None]) -> NatsRouter:
    """The router answering `keyvault.seal.v1` with `seal`, handing each answered sealing to `after_reply`."""
    router = NatsRouter(middlewares=(_answer_failures(),))

    @router.subscriber(
        SealRequest.subject,
        queue=SEAL_QUEUE,
        title=f"{SealRequest.subject}:SealRequest",
        description="Answered by keyvault (queue group `keyvault`) with a `SealReply`: the credential's provider "
        "key sealed to `recipient_public_key` (tollgate_contracts.sealedbox), or why not.",
    )
    async def answer_seal(request: SealRequest) -> SealReply:
        sealing = await seal(request)
        after_reply(sealing)
        return sealing.reply

    return router


def _answer_failures() -> ExceptionMiddleware:
    """Exceptions become replies: a requester always gets an answer, never a timeout."""
    middleware = ExceptionMiddleware()

    @middleware.add_handler(ValidationError, publish=True)
    def malformed(exc: ValidationError, message: NatsMessage) -> SealReply:
        return SealReply(
            ok=False, credential_id=_credential_id(message.body), error=ErrorCode.INVALID_REQUEST, message=_first(exc)
        )

    @middleware.add_handler(Exception, publish=True)
    def failed(exc: Exception, message: NatsMessage) -> SealReply:
        # Unexpected (the database is down…): logged once with its frames, answered as an internal error.
        logger.error("seal request failed: %s\n%s", describe(exc), frames(exc))
        return SealReply(
            ok=False, credential_id=_credential_id(message.body), error=ErrorCode.INTERNAL, message="keyvault failed"
        )

    return middleware


def seal_broker(
    url: str, *, user: str | None = None, password: str | None = None, name: str = "tollgate-keyvault-seal"
) -> NatsBroker:
    """A FastStream broker for the responder: reconnects forever; credentials go to nats-py only, and with a
    user its replies (were it ever to ask anything) arrive on that user's own inbox, as the permissions require."""
    security = SASLPlaintext(username=user, password=password or "") if user else None
    return NatsBroker(
        url.split(","),
        name=name,
        security=security,
        inbox_prefix=inbox_prefix(user) if user else "_INBOX",
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        drain_timeout=2,
        graceful_timeout=5.0,
        # Per-message "Received"/"Processed" lines at DEBUG: a seal is audited, it needs no access log.
        logger=logging.getLogger(f"{__name__}.faststream"),
        log_level=logging.DEBUG,
    )


async def stop_broker(broker: NatsBroker) -> None:
    """Stop the responder; a connection that is reconnecting cannot drain (nats-py raises), so then just close.

    Shutting down while the bus is away must not fail the lifespan: there is nothing in flight to finish."""
    try:
        await broker.stop()
    except BUS_ERRORS as exc:
        logger.warning("the seal responder could not drain (%s); closing it", type(exc).__name__)
        connection = broker.connection
        if connection is not None and not connection.is_closed:
            await connection.close()


def asyncapi_broker() -> NatsBroker:
    """A broker holding the real handler, for the AsyncAPI document (`AsyncAPI(asyncapi_broker(), …)`); it is
    never started, so its `seal` is never called."""

    async def not_running(request: SealRequest) -> Sealing:
        raise RuntimeError("the AsyncAPI broker does not answer requests")

    broker = NatsBroker()
    broker.include_router(seal_router(not_running, lambda sealing: None))
    return broker


def _credential_id(data: bytes) -> str:
    """The credential id of a request that did not validate, when there is a plausible one to echo."""
    try:
        value = json.loads(data)
    except ValueError:
        return ""
    candidate = value.get("credential_id") if isinstance(value, dict) else None
    if isinstance(candidate, str) and len(candidate) <= _MAX_ID_ECHO and candidate.isprintable():
        return candidate
    return ""


def _first(exc: ValidationError) -> str:
    # Only the location and pydantic's message: the input itself may be anything and is never echoed.
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return "malformed request"
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "request"
    return f"{where}: {first['msg']}"
