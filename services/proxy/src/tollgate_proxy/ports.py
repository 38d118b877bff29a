"""What the proxy's use cases (`service.py`) need from the world, as Protocols; adapters and fakes implement them.

    Upstream       send a request to a provider, get its streaming response   adapters.upstream / testing
    SealedKeys     the plaintext provider key of a credential                 adapters.sealed_keys / testing
    UsageSink      take a usage record (queued, never awaited)                adapters.usage_publisher / testing
    PolicySource   the policy cache: grants, credentials, API keys,           policy_cache.PolicyCache
                   revocations, signing keys, budgets and breakers
    Readiness      whether the cache may be trusted right now                 readiness / testing
    Clock          servicekit's Clock (aware UTC) plus epoch seconds and      adapters.clock / testing
                   a monotonic clock

The real PolicyCache is pure and in memory, so tests use it as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from tollgate_contracts import ApiKeyState, Capability, CredentialState, GrantState, TokenRevoked, UsageRecorded
from tollgate_proxy.domain.tokens import VerificationKey
from tollgate_servicekit.clock import Clock as ServiceClock


class UpstreamResponse(Protocol):
    """A provider's answer: status and headers have arrived, the body arrives chunk by chunk.

    Body reads raise UpstreamFailed (502) or UpstreamTimedOut (504) when the exchange breaks.
    """

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Lower-case names; a repeated header's values joined with `, `."""
        ...

    async def next_chunk(self) -> bytes | None:
        """The next piece of the body, or None at its end."""
        ...

    async def read(self, limit: int) -> bytes:
        """The body, or its first `limit` bytes."""
        ...

    def close(self) -> None:
        """Abandon the exchange (the provider stops generating); a reader waiting on the body ends."""
        ...

    async def __aenter__(self) -> UpstreamResponse: ...

    async def __aexit__(self, *exc: object) -> None: ...


class Upstream(Protocol):
    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> UpstreamResponse:
        """Send a request; return once the response's headers arrived (UpstreamFailed / UpstreamTimedOut if not).

        Never follows a redirect, never sends a POST twice.
        """
        ...


class SealedKeys(Protocol):
    async def key_for(self, credential: CredentialState) -> str:
        """The plaintext provider key of `credential`; Unavailable (503) when it cannot be had."""
        ...


class UsageSink(Protocol):
    def submit(self, record: UsageRecorded) -> None:
        """Take a usage record; returns at once, the record is delivered (or spooled) later."""
        ...


class PolicySource(Protocol):
    """Everything the request path reads about policy; all lookups are in memory."""

    @property
    def grants(self) -> Mapping[str, GrantState]: ...

    @property
    def api_keys(self) -> Mapping[str, ApiKeyState]:
        """By SHA-256 hex of the key."""
        ...

    @property
    def revoked(self) -> Mapping[str, TokenRevoked]:
        """Revoked token ids (`jti`)."""
        ...

    @property
    def verification_keys(self) -> Mapping[str, VerificationKey]:
        """The published signing keys (JWKS) by `kid`."""
        ...

    def credential_for(self, tenant_id: str, provider: str) -> CredentialState | None:
        """The active credential a grant of this tenant and provider uses."""
        ...

    def check(self, grant: GrantState, capability: Capability, model: str, now: datetime) -> None:
        """The request against the grant, its budget and its breakers (raises ProxyError)."""
        ...

    def note_request(self, grant_id: str) -> None:
        """Count a request let through until the next budget state covers it."""
        ...

    async def wait_for_grant(self, grant_id: str, within: float) -> GrantState | None:
        """The grant, waiting up to `within` seconds for it to arrive (no polling)."""
        ...

    async def wait_for_signing_key(self, kid: str, within: float) -> VerificationKey | None:
        """The verification key, waiting up to `within` seconds for it to arrive (no polling)."""
        ...


class Readiness(Protocol):
    def check(self) -> None:
        """Return when the proxy may serve; raise Unavailable (503) saying why not."""
        ...

    def detail(self) -> str | None:
        """None when ready, else why not (for `/readyz`)."""
        ...


class Clock(ServiceClock, Protocol):
    """servicekit's Clock (`now()`, aware UTC) with what the request path needs besides."""

    def time(self) -> float:
        """Wall time, epoch seconds."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (rate windows, durations)."""
        ...
