"""The egress guard at the upstream client's connect time (`tollgate_servicekit.egress`).

Keyvault checks a credential's base URL when it is stored; the proxy checks it
again where it matters, when it connects: the URL's form once per URL (cached),
and the host's addresses on every new connection, which then goes to exactly
one of the checked addresses — never to the name again, so a DNS answer that
changes between the check and the connect (rebinding) cannot reach loopback,
private or metadata space. TLS SNI and the Host header keep the original name.
A refusal is UpstreamRefused (502, not worth retrying); the client is not told
the address, the log line says why (the guard's reason: a short host prefix).
"""

from __future__ import annotations

import logging

from tollgate_proxy.domain.errors import UpstreamFailed, UpstreamRefused
from tollgate_servicekit.egress import EgressGuard, EgressRefused, EgressUnresolved, Target

logger = logging.getLogger(__name__)

_MAX_REMEMBERED = 1024


class Egress:
    """The guard as the upstream client uses it; `allow` is the operator's `host:port` allow-list."""

    def __init__(self, guard: EgressGuard | None = None) -> None:
        self._guard = guard if guard is not None else EgressGuard()
        self._refused: dict[str, str] = {}
        self._warned: set[tuple[str, int]] = set()

    def check(self, url: str) -> Target:
        """The URL's static checks (form, scheme, literal or local host); UpstreamRefused if it fails them."""
        if url in self._refused:
            raise UpstreamRefused()
        try:
            return self._guard.parse(url)
        except EgressRefused as exc:
            if len(self._refused) >= _MAX_REMEMBERED:
                self._refused.clear()
            self._refused[url] = exc.reason
            logger.warning("refusing to connect to a provider base URL: %s", exc.reason)
            raise UpstreamRefused() from None

    async def addresses(self, target: Target) -> list[str]:
        """The host's addresses, every one of them checked, to connect to; UpstreamRefused if any is not allowed."""
        try:
            return await self._guard.resolve(target)
        except EgressUnresolved:
            # A name that does not resolve (now) is a failure to reach the provider, not a refusal.
            raise UpstreamFailed("the provider could not be reached (its name does not resolve)") from None
        except EgressRefused as exc:
            origin = (target.host, target.port)
            if origin not in self._warned and len(self._warned) < _MAX_REMEMBERED:
                self._warned.add(origin)
                logger.warning("refusing to connect to a provider: %s", exc.reason)
            raise UpstreamRefused() from None
