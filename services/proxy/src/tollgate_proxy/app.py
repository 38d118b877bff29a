"""The proxy as a raw ASGI app: `create_app(settings)`; the lifespan builds the adapters, the service and the edge.

The lifespan owns every connection and background task; `api.edge.Edge`
answers HTTP once it is built (`api.edge.starting` before).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tollgate_proxy.adapters.bus import Bus
from tollgate_proxy.adapters.clock import SystemClock
from tollgate_proxy.adapters.egress import Egress
from tollgate_proxy.adapters.follower import PolicyFollower
from tollgate_proxy.adapters.sealed_keys import SealedKeys
from tollgate_proxy.adapters.upstream import Upstream
from tollgate_proxy.adapters.usage_publisher import UsagePublisher
from tollgate_proxy.api.asgi import Receive, Scope, Send
from tollgate_proxy.api.edge import Edge, starting
from tollgate_proxy.domain.dpop import ProofPolicy, ReplayCache
from tollgate_proxy.domain.ratelimit import RateLimiter
from tollgate_proxy.policy_cache import PolicyCache
from tollgate_proxy.readiness import Readiness
from tollgate_proxy.service import ProxyService
from tollgate_proxy.settings import Settings
from tollgate_servicekit.dpop_replay import Nonces
from tollgate_servicekit.egress import EgressGuard
from tollgate_servicekit.supervisor import Supervisor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """Everything the lifespan built; tests reach the parts through `app.runtime`."""

    cache: PolicyCache
    bus: Bus
    follower: PolicyFollower
    readiness: Readiness
    sealed_keys: SealedKeys
    publisher: UsagePublisher
    service: ProxyService
    edge: Edge
    tasks: Supervisor

    @property
    def limiter(self) -> RateLimiter:
        return self.service.limiter


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    """Build the runtime, start its background tasks, and take it all down again in order."""
    cache = PolicyCache()
    password = settings.nats_password.get_secret_value() if settings.nats_password else None
    bus = Bus(
        settings.nats_url,
        name=f"tollgate-proxy-{settings.proxy_id}",
        user=settings.nats_user,
        password=password,
        probe_interval=min(5.0, settings.staleness_seconds / 4),
    )
    follower = PolicyFollower(bus, cache)
    tasks = Supervisor()
    readiness = Readiness(bus, follower, staleness_seconds=settings.staleness_seconds, failure=tasks.failure)
    sealed_keys = SealedKeys(bus, requester=settings.proxy_id, timeout=settings.seal_timeout_seconds)
    cache.on_credential_change(sealed_keys.on_credential_change)
    upstream = Upstream(
        read_timeout=settings.upstream_timeout_seconds,
        connect_timeout=settings.upstream_connect_timeout_seconds,
        max_connections=settings.upstream_max_connections,
        egress=Egress(EgressGuard(settings.egress_allow)),
    )
    publisher = UsagePublisher(
        bus, spool_dir=settings.spool_dir, proxy_id=settings.proxy_id, resend_interval=settings.spool_resend_seconds
    )
    service = ProxyService(
        policy=cache,
        sealed_keys=sealed_keys,
        upstream=upstream,
        usage=publisher,
        readiness=readiness,
        clock=SystemClock(),
        issuer=settings.issuer,
        resource=settings.public_url,
        producer=f"proxy/{settings.proxy_id}",
        max_body_bytes=settings.max_body_bytes,
        fresh_state_wait=settings.fresh_state_wait_seconds,
        proofs=ProofPolicy(
            public_url=settings.public_url,
            max_age=settings.dpop_proof_max_age_seconds,
            replay=ReplayCache(settings.dpop_max_remembered_proofs),
            nonces=_nonces(settings),
        ),
    )
    await upstream.start()
    try:
        async with tasks:
            tasks.spawn("bus", bus.run)
            tasks.spawn("policy-follower", follower.run)
            tasks.spawn("usage-resender", publisher.run_resender)
            publishing = tasks.spawn("usage-publisher", publisher.run)
            edge = Edge(service, readiness)
            runtime = Runtime(cache, bus, follower, readiness, sealed_keys, publisher, service, edge, tasks)
            try:
                yield runtime
            finally:
                publisher.stop()
                await publishing  # every queued record is published or spooled before the bus goes
                publisher.spool_leftovers()  # had the publisher crashed, what it left is kept all the same
    finally:
        await upstream.close()
        await bus.close()
        logger.info("proxy stopped")


def _nonces(settings: Settings) -> Nonces | None:
    if not settings.dpop_require_nonce:
        return None
    secret = settings.dpop_nonce_secret
    return Nonces(secret.get_secret_value().encode() if secret is not None else secrets.token_bytes(32))


class ProxyApp:
    """The ASGI application."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runtime: Runtime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        if runtime is not None:
            await runtime.edge(scope, receive, send)
        else:
            await starting(scope, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        started = False
        try:
            async with running(self.settings) as runtime:
                self.runtime = runtime
                started = True
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
                self.runtime = None
        except Exception as exc:
            logger.exception("proxy %s failed", "shutdown" if started else "startup")
            kind = "lifespan.shutdown.failed" if started else "lifespan.startup.failed"
            await send({"type": kind, "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})


def create_app(settings: Settings) -> ProxyApp:
    """A new proxy app; nothing starts until the server runs its lifespan."""
    return ProxyApp(settings)
