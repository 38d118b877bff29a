"""The hop to the provider: one pooled aiohttp session for the life of the process.

aiohttp rather than httpx: httpx 0.28 collapses under concurrency as a proxy
client (STACK-NOTES). Its failures are translated here into UpstreamFailed
(502) and UpstreamTimedOut (504), so nothing above sees an aiohttp exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import aiohttp

from tollgate_proxy.domain.errors import ProxyError, UpstreamFailed, UpstreamTimedOut

logger = logging.getLogger(__name__)

# aiohttp raises both: ServerTimeoutError for socket reads, asyncio.TimeoutError for the rest.
TIMEOUTS = (asyncio.TimeoutError, aiohttp.ServerTimeoutError)


def translate(exc: BaseException) -> ProxyError:
    """The ProxyError for an aiohttp failure (never carries the URL's query or any header)."""
    if isinstance(exc, TIMEOUTS):
        return UpstreamTimedOut("the provider did not answer in time")
    return UpstreamFailed(f"the provider could not be reached ({type(exc).__name__})")


class Upstream:
    """Sends requests to providers; responses stream back as they arrive."""

    def __init__(self, *, read_timeout: float, connect_timeout: float, max_connections: int) -> None:
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300, keepalive_timeout=30)
        # No cookie jar: one client's provider cookies must never ride on another client's request.
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent",),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> aiohttp.ClientResponse:
        """Send the request; the response's headers have arrived, its body has not."""
        session = self._session
        if session is None:
            raise UpstreamFailed("the proxy is shutting down")
        try:
            return await session.request(method, url, headers=headers, data=body, allow_redirects=False)
        except (aiohttp.ClientError, *TIMEOUTS) as exc:
            logger.warning("upstream request failed: %s", type(exc).__name__)
            raise translate(exc) from None
