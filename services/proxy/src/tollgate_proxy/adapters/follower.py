"""Follows every policy state stream into the PolicyCache: replay the last message per subject, then live.

One nats-py ordered consumer per stream (ephemeral, flow-controlled, reset by
the client on a gap or a missed heartbeat). A stream counts as caught up when a
message arrives with nothing pending behind it, or when it had nothing to
deliver at all; the proxy is hydrated when every stream is caught up.

A message whose body names another entity than its subject does (a grant
state for `grt_B` on `grant.state.v1.grt_A`) is ignored: every publisher puts
a state on its own subject, and the stream keeps one message per subject, so a
mismatched one could shadow the real state of its entity. Whether the producer
owns the subject is the cache's check (`domain.ownership`).

Why nats-py and not a FastStream subscriber (issue 6 asked where FastStream
fits): FastStream 0.7 has no ordered consumers, and this follower needs one
per replica with deliver-last-per-subject replay and the pending count of each
delivery to know when it has caught up — the signal `/readyz` and the
staleness window rest on. Keyvault's seal responder, a plain queue-group
request handler, is on FastStream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from tollgate_contracts import (
    POLICY_STREAMS,
    ApiKeyState,
    BreakerState,
    BudgetState,
    CredentialState,
    GrantState,
    SigningKeyState,
    StateEvent,
    StreamSpec,
    TokenRevoked,
)
from tollgate_proxy.adapters.bus import Bus
from tollgate_proxy.policy_cache import PolicyCache

logger = logging.getLogger(__name__)

_MAX_WARNED = 10_000

STATE_MODELS: dict[str, type[StateEvent]] = {
    model.subject_prefix: model
    for model in (GrantState, ApiKeyState, TokenRevoked, SigningKeyState, CredentialState, BudgetState, BreakerState)
}


def model_for(spec: StreamSpec) -> type[StateEvent]:
    """The state model a policy stream carries (its single subject is `<prefix>.>`)."""
    (subject,) = spec.subjects
    return STATE_MODELS[subject.removesuffix(".>")]


class PolicyFollower:
    """Hydrates the cache from the policy streams and keeps it current."""

    def __init__(self, bus: Bus, cache: PolicyCache, streams: Iterable[StreamSpec] = POLICY_STREAMS) -> None:
        self._bus = bus
        self._cache = cache
        self._streams = tuple(streams)
        self._waiting = {spec.name for spec in self._streams}
        self.hydrated = asyncio.Event()
        self._warned: set[str] = set()
        self.mismatched = 0
        """Messages ignored because their body is not the state of their subject's entity."""

    @property
    def waiting_for(self) -> list[str]:
        """Streams not caught up yet."""
        return sorted(self._waiting)

    async def run(self) -> None:
        """Subscribe to every stream (waiting for any that does not exist yet), then let the callbacks work."""
        await self._bus.connected.wait()
        js = self._bus.js
        assert js is not None
        for spec in self._streams:
            await self._follow(js, spec)
        await asyncio.Event().wait()  # the subscriptions live as long as the connection; stay until cancelled

    async def _follow(self, js: JetStreamContext, spec: StreamSpec) -> None:
        model = model_for(spec)

        async def on_message(msg: Msg) -> None:
            self._receive(spec, model, msg)

        delay = 0.2
        while True:
            try:
                await js.stream_info(spec.name)
                sub = await js.subscribe(
                    spec.subjects[0],
                    stream=spec.name,
                    cb=on_message,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
                )
                break
            except NotFoundError:
                logger.info("stream %s does not exist yet; waiting for it", spec.name)
            except (TimeoutError, NatsError) as exc:
                logger.warning("cannot follow stream %s yet (%s); retrying", spec.name, type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        while spec.name in self._waiting:
            try:
                info = await sub.consumer_info()
            except (TimeoutError, NatsError) as exc:
                logger.warning("cannot read consumer of %s (%s); retrying", spec.name, type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            delivered = info.delivered.consumer_seq if info.delivered is not None else 0
            if info.num_pending == 0 and delivered == 0:
                self._caught_up(spec.name)  # nothing to replay
            break

    def _receive(self, spec: StreamSpec, model: type[StateEvent], msg: Msg) -> None:
        self._bus.touch()
        try:
            event = model.model_validate_json(msg.data)
        except ValidationError as exc:
            logger.error("ignoring malformed %s on %s: %d errors", model.__name__, msg.subject, exc.error_count())
        else:
            if event.subject == msg.subject:
                self._cache.apply(event)
            else:
                self._mismatch(msg.subject, event)
        if spec.name in self._waiting and msg.metadata.num_pending == 0:
            self._caught_up(spec.name)

    def _mismatch(self, subject: str, event: StateEvent) -> None:
        self.mismatched += 1
        if subject not in self._warned and len(self._warned) < _MAX_WARNED:
            self._warned.add(subject)
            logger.warning(
                "ignoring %s on %s: its body is the state of %s", type(event).__name__, subject, event.key[:64]
            )

    def _caught_up(self, name: str) -> None:
        if name not in self._waiting:
            return
        self._waiting.discard(name)
        logger.info("policy stream %s caught up", name)
        if not self._waiting:
            logger.info("policy cache hydrated")
            self.hydrated.set()
