"""The proxy as a raw ASGI app: `create_app(settings)`; the lifespan owns every connection and task.

Raw ASGI rather than a framework: the request path is a dict lookup on the
path and one handler call, with nothing wrapped around it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from tollgate_proxy.adapters.bus import Bus
from tollgate_proxy.adapters.follower import PolicyFollower
from tollgate_proxy.adapters.sealed_keys import SealedKeys
from tollgate_proxy.adapters.upstream import Upstream
from tollgate_proxy.adapters.usage_publisher import UsagePublisher
from tollgate_proxy.api.asgi import Receive, Scope, Send, send_json
from tollgate_proxy.api.errors import send_error
from tollgate_proxy.api.forward import Forwarder
from tollgate_proxy.api.routes import ROUTES
from tollgate_proxy.authenticator import Authenticator
from tollgate_proxy.domain.dialects import Dialect
from tollgate_proxy.domain.errors import MethodNotAllowed, NotFound
from tollgate_proxy.domain.ratelimit import RateLimiter
from tollgate_proxy.policy_cache import PolicyCache
from tollgate_proxy.readiness import Readiness
from tollgate_proxy.settings import Settings

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
    forwarder: Forwarder
    limiter: RateLimiter


async def _supervise(name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a background loop; if it dies of a bug, log it and start it again."""
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("background task %s failed; restarting it", name)
            await asyncio.sleep(1.0)


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
    readiness = Readiness(bus, follower, staleness_seconds=settings.staleness_seconds)
    sealed_keys = SealedKeys(bus, requester=settings.proxy_id, timeout=settings.seal_timeout_seconds)
    cache.on_credential_change(sealed_keys.on_credential_change)
    upstream = Upstream(
        read_timeout=settings.upstream_timeout_seconds,
        connect_timeout=settings.upstream_connect_timeout_seconds,
        max_connections=settings.upstream_max_connections,
    )
    publisher = UsagePublisher(
        bus, spool_dir=settings.spool_dir, proxy_id=settings.proxy_id, resend_interval=settings.spool_resend_seconds
    )
    limiter = RateLimiter()
    forwarder = Forwarder(
        cache=cache,
        authenticator=Authenticator(cache, issuer=settings.issuer, audience=settings.audience),
        readiness=readiness,
        sealed_keys=sealed_keys,
        upstream=upstream,
        publisher=publisher,
        producer=f"proxy/{settings.proxy_id}",
        max_body_bytes=settings.max_body_bytes,
        limiter=limiter,
    )
    await upstream.start()
    background = [
        asyncio.create_task(_supervise(name, work), name=f"tollgate-proxy-{name}")
        for name, work in (
            ("bus", bus.run),
            ("follower", follower.run),
            ("usage-resender", publisher.run_resender),
        )
    ]
    publishing = asyncio.create_task(_supervise("usage-publisher", publisher.run), name="tollgate-proxy-usage")
    try:
        yield Runtime(cache, bus, follower, readiness, sealed_keys, publisher, forwarder, limiter)
    finally:
        publisher.stop()
        await publishing  # every queued record is published or spooled before the bus goes
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await upstream.close()
        await bus.close()
        logger.info("proxy stopped")


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
        path: str = scope["path"]
        route = ROUTES.get(path)
        runtime = self.runtime
        if route is not None:
            if scope["method"] != route.method:
                error = MethodNotAllowed(f"{path} takes {route.method}")
                await send_error(send, route.dialect, error)
            elif runtime is None:
                await send_json(send, 503, {"status": "starting", "detail": "lifespan has not started"})
            else:
                await runtime.forwarder(route, scope, receive, send)
        elif path == "/healthz":
            await send_json(send, 200, {"status": "ok"})
        elif path == "/readyz":
            detail = runtime.readiness.detail() if runtime is not None else "starting"
            if detail is None:
                await send_json(send, 200, {"status": "ready"})
            else:
                await send_json(send, 503, {"status": "starting", "detail": detail})
        else:
            dialect = Dialect.ANTHROPIC if path.startswith("/v1/messages") else Dialect.OPENAI
            await send_error(send, dialect, NotFound(f"no route {path}"))

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
