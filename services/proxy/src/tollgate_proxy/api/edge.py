"""The proxy's HTTP side as one raw ASGI callable: the proxied routes, `/healthz`, `/readyz`, the protected-resource
metadata (RFC 9728), refusals for the rest.

Raw ASGI rather than a framework: the request path is a dict lookup on the
path and one handler call, with nothing wrapped around it. It needs nothing but
a `ProxyService` and a `Readiness`, so tests drive it with in-memory
receive/send and the fakes of `tollgate_proxy.testing`.
"""

from __future__ import annotations

from tollgate_proxy.api.asgi import Receive, Scope, Send, send_json
from tollgate_proxy.api.errors import send_error
from tollgate_proxy.api.forward import Forwarder
from tollgate_proxy.domain.challenges import METADATA_PATH
from tollgate_proxy.domain.dialects import Dialect
from tollgate_proxy.domain.errors import MethodNotAllowed, NotFound
from tollgate_proxy.domain.routes import ROUTES
from tollgate_proxy.ports import Readiness
from tollgate_proxy.service import ProxyService


class Edge:
    """An ASGI app for `http` scopes."""

    def __init__(self, service: ProxyService, readiness: Readiness) -> None:
        self._forward = Forwarder(service)
        self._service = service
        self._readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        route = ROUTES.get(path)
        if route is not None:
            if scope["method"] != route.method:
                await send_error(send, route.dialect, MethodNotAllowed(f"{path} takes {route.method}"))
            else:
                await self._forward(route, scope, receive, send)
        elif path == "/healthz":
            await send_json(send, 200, {"status": "ok"})
        elif path == METADATA_PATH:
            await self._metadata(scope, send)
        elif path == "/readyz":
            detail = self._readiness.detail()
            if detail is None:
                await send_json(send, 200, {"status": "ready"})
            else:
                await send_json(send, 503, {"status": "starting", "detail": detail})
        else:
            await not_found(path, send)

    async def _metadata(self, scope: Scope, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await send_error(send, Dialect.OPENAI, MethodNotAllowed(f"{METADATA_PATH} takes GET"))
            return
        # Public and the same for every client: cacheable, and readable by browser-based clients on other origins.
        headers = [(b"cache-control", b"public, max-age=3600"), (b"access-control-allow-origin", b"*")]
        await send_json(send, 200, self._service.resource_metadata(), headers)


async def not_found(path: str, send: Send) -> None:
    """404 in the dialect the path suggests."""
    dialect = Dialect.ANTHROPIC if path.startswith("/v1/messages") else Dialect.OPENAI
    await send_error(send, dialect, NotFound(f"no route {path}"))


async def starting(scope: Scope, send: Send) -> None:
    """The answers before the lifespan has built the service."""
    path: str = scope["path"]
    if path == "/healthz":
        await send_json(send, 200, {"status": "ok"})
    elif path in ROUTES or path == "/readyz":
        await send_json(send, 503, {"status": "starting", "detail": "lifespan has not started"})
    else:
        await not_found(path, send)
