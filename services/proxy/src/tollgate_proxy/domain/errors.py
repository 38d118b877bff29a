"""Why the proxy refuses or fails a request, each error carrying its HTTP status and stable code.

    ProxyError
    ├── InvalidRequest        400  the body is not what the endpoint takes
    ├── CredentialRejected    401  malformed, unknown, expired or revoked credential
    │   ├── CredentialMissing 401  none at all
    │   ├── UnknownSigningKey 401  a token's `kid` is not (yet) among the published keys
    │   └── ProofRejected     401  a DPoP-bound token without a valid proof, or a bearer token sent as DPoP
    ├── Forbidden             403  grant not active, capability or model not allowed
    ├── NotFound              404  no such route
    ├── MethodNotAllowed      405
    ├── BodyTooLarge          413  refused before the body is buffered
    ├── LimitReached          429  budget exhausted, request cap reached
    │   └── RateLimited       429  requests or tokens per minute (`Retry-After`, rate-limit headers)
    ├── UpstreamFailed        502  the provider could not be reached or broke the exchange
    │   └── UpstreamRefused   502  its address is not one a key may be sent to (egress guard)
    ├── Unavailable           503  not hydrated, policy stale, breaker open, no provider key
    └── UpstreamTimedOut      504

The API edge renders each one in the dialect of the route (`domain.dialects`);
every 401 also carries its `WWW-Authenticate` challenges (`domain.challenges`).
Messages are one readable line and never carry a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from tollgate_contracts import ErrorCode

if TYPE_CHECKING:
    from tollgate_proxy.domain.ratelimit import RateStatus


class ProxyError(Exception):
    """A refusal or failure the client is told about."""

    status: ClassVar[int] = 500

    def __init__(
        self, code: ErrorCode, message: str, *, retry_after: int | None = None, should_retry: bool | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        """Seconds, for a `Retry-After` header."""
        self.should_retry = should_retry
        """Told to the official SDKs through `x-should-retry`, so they do not retry what waiting cannot fix."""


class InvalidRequest(ProxyError):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_REQUEST, message)


class CredentialRejected(ProxyError):
    status = 401

    presented: ClassVar[bool] = True
    """Whether a credential was sent (the challenge then says `error="invalid_token"`)."""


class CredentialMissing(CredentialRejected):
    presented = False

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_CREDENTIAL, message)


class ProofRejected(CredentialRejected):
    """The DPoP side of a token failed (RFC 9449 §7.1): `error` is the code of the `DPoP` challenge —
    `invalid_dpop_proof` (missing, malformed, replayed, stale, for another URL, method, token or key),
    `use_dpop_nonce`, or `invalid_token` (a bound token sent as Bearer, a bearer token sent as DPoP)."""

    def __init__(self, message: str, *, error: str = "invalid_dpop_proof", nonce: str | None = None) -> None:
        super().__init__(ErrorCode.INVALID_CREDENTIAL, message)
        self.error = error
        self.nonce = nonce
        """With `use_dpop_nonce`: the nonce to put in the next proof (sent as `DPoP-Nonce`)."""


class UnknownSigningKey(CredentialRejected):
    """A token names a signing key this proxy does not hold, perhaps one auth has only just published.

    `plausible` says whether its unverified claims would pass (issuer, audience, times): only then is it worth
    waiting a moment for the key to arrive.
    """

    def __init__(self, kid: str, *, plausible: bool) -> None:
        super().__init__(ErrorCode.INVALID_CREDENTIAL, "token was signed by an unknown key")
        self.kid = kid
        self.plausible = plausible


class Forbidden(ProxyError):
    status = 403


class NotFound(ProxyError):
    status = 404

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_REQUEST, message)


class MethodNotAllowed(ProxyError):
    status = 405

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_REQUEST, message)


class BodyTooLarge(ProxyError):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(ErrorCode.BODY_TOO_LARGE, f"request body exceeds the limit of {limit} bytes")


class LimitReached(ProxyError):
    status = 429


class RateLimited(LimitReached):
    """A per-minute limit of the grant is used up for now; waiting `retry_after` seconds fixes it."""

    def __init__(
        self, kind: Literal["requests", "tokens"], message: str, *, retry_after: int, rates: RateStatus
    ) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, message, retry_after=retry_after)
        self.kind = kind
        """Which limit refused: `requests` (rpm) or `tokens` (tpm); OpenAI's error `type` says the same."""
        self.rates = rates


class UpstreamFailed(ProxyError):
    status = 502

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.UPSTREAM_ERROR, message)


class UpstreamRefused(UpstreamFailed):
    """The credential's base URL is, or resolves to, an address the proxy may not send a key to (loopback,
    private, link-local, metadata…, or plain http) and the operator has not allow-listed it. Retrying cannot help."""

    def __init__(self) -> None:
        super().__init__(
            "the provider's address is refused: a credential's base URL must be a public https address "
            "(or allow-listed by the operator); the owner must correct it"
        )
        self.should_retry = False


class Unavailable(ProxyError):
    status = 503


class UpstreamTimedOut(ProxyError):
    status = 504

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.UPSTREAM_TIMEOUT, message)
