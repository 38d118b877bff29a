"""The use cases of one proxied request, in the order of DESIGN.md "The request path"; ports only, no framework.

    admit     ready? → credential → token (+ its DPoP proof if bound) or API key → grant (waited for briefly
              when the token verified but the grant or its signing key has not arrived) → grant active
    prepare   body (read by the edge, bounded by `max_body_bytes`) → JSON → model policy →
              provider key → rate limits → the upstream Call
    send      the Call to the provider (`Upstream`)
    record    the usage record (queued on the `UsageSink`, never awaited) and the tokens it
              used, against the grant's token window

The ASGI edge (`api/`) reads the request, calls these, relays the provider's
bytes and renders every ProxyError in the route's dialect. Once the grant is
known, every answer for a grant with `rpm` or `tpm` carries the rate-limit
headers of the route's dialect (`Call.limits`, `refusal_limits`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from tollgate_contracts import Capability, CredentialState, ErrorCode, GrantState, UsageRecorded
from tollgate_proxy.authenticator import Authenticator, Principal
from tollgate_proxy.domain.challenges import challenges, resource_metadata
from tollgate_proxy.domain.dialects import Dialect, rate_limit_headers
from tollgate_proxy.domain.dpop import BEARER, Presentation, ProofPolicy
from tollgate_proxy.domain.errors import (
    CredentialRejected,
    Forbidden,
    ProxyError,
    RateLimited,
    Unavailable,
    UnknownSigningKey,
    UpstreamFailed,
)
from tollgate_proxy.domain.payload import (
    ask_for_usage,
    encode_payload,
    parse_payload,
    requested_model,
    upstream_headers,
)
from tollgate_proxy.domain.policy import check_grant, model_allowed
from tollgate_proxy.domain.ratelimit import RateLimiter
from tollgate_proxy.domain.routes import Route
from tollgate_proxy.domain.usage import Usage
from tollgate_proxy.ports import Clock, PolicySource, Readiness, SealedKeys, Upstream, UpstreamResponse, UsageSink

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class Admitted:
    """A request whose credential and grant passed: the grant, and when the request began."""

    grant: GrantState
    started_at: datetime
    started: float
    """Monotonic seconds."""


@dataclass(slots=True)
class Call:
    """A request that passed every check and is about to go upstream."""

    request_id: str
    route: Route
    grant: GrantState
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    model: str
    request_bytes: int
    streamed: bool
    hide_usage_chunk: bool
    started_at: datetime
    started: float
    limits: Headers
    """Rate-limit headers for every answer to this call (none when the grant has no rpm or tpm)."""


class ProxyService:
    """Admits, prepares, sends and records proxied requests."""

    def __init__(
        self,
        *,
        policy: PolicySource,
        sealed_keys: SealedKeys,
        upstream: Upstream,
        usage: UsageSink,
        readiness: Readiness,
        clock: Clock,
        issuer: str,
        resource: str,
        producer: str,
        max_body_bytes: int,
        fresh_state_wait: float = 2.0,
        limiter: RateLimiter | None = None,
        proofs: ProofPolicy | None = None,
    ) -> None:
        self._policy = policy
        self._proofs = proofs if proofs is not None else ProofPolicy(public_url=resource)
        self._authenticator = Authenticator(policy, issuer=issuer, audience=resource, proofs=self._proofs)
        self._resource = resource
        self._metadata = resource_metadata(public_url=resource, issuer=issuer, dpop_algorithms=self._proofs.algorithms)
        self._sealed_keys = sealed_keys
        self._upstream = upstream
        self._usage = usage
        self._readiness = readiness
        self._clock = clock
        self._producer = producer
        self._max_body = max_body_bytes
        self._fresh_wait = fresh_state_wait
        self.limiter = limiter if limiter is not None else RateLimiter()

    # --- admit ---------------------------------------------------------------------

    async def admit(self, credential: str | None, presented: Presentation = BEARER) -> Admitted:
        """Ready, a valid credential (with its DPoP proof if bound), a grant active right now; ProxyError if not."""
        clock = self._clock
        started = clock.monotonic()
        now = clock.now()
        self._readiness.check()
        try:
            principal = self._authenticator.authenticate(credential, clock.time(), presented)
        except UnknownSigningKey as unknown:
            principal = await self._after_key_arrives(credential, presented, unknown)
        grant = self._policy.grants.get(principal.grant_id)
        if grant is None:
            grant = await self._policy.wait_for_grant(principal.grant_id, self._fresh_wait)
        if grant is None or grant.tenant_id != principal.tenant_id:
            raise Forbidden(ErrorCode.GRANT_NOT_FOUND, f"grant {principal.grant_id} is not known to this proxy")
        check_grant(grant, now)
        return Admitted(grant, now, started)

    async def _after_key_arrives(
        self, credential: str | None, presented: Presentation, unknown: UnknownSigningKey
    ) -> Principal:
        # A key auth has only just published may not have reached this proxy: wait for it, then verify again.
        if not unknown.plausible or await self._policy.wait_for_signing_key(unknown.kid, self._fresh_wait) is None:
            raise unknown
        return self._authenticator.authenticate(credential, self._clock.time(), presented)

    # --- OAuth protected resource (RFC 9728) ---------------------------------------------

    def resource_metadata(self) -> dict[str, object]:
        """The protected-resource metadata document: this proxy as the resource, auth as its authorization server."""
        return self._metadata

    def challenges(self, error: CredentialRejected) -> Headers:
        """The `WWW-Authenticate` headers of a 401."""
        return challenges(error, public_url=self._resource, dpop_algorithms=self._proofs.algorithms)

    # --- prepare -------------------------------------------------------------------

    @property
    def max_body_bytes(self) -> int:
        """The longest request body the edge may read (and must refuse with BodyTooLarge beyond)."""
        return self._max_body

    async def prepare(
        self, route: Route, admitted: Admitted, passed: dict[str, str], body: bytes, request_id: str
    ) -> Call:
        """The upstream call for a proxied POST: JSON body, model policy, provider key, rate limits."""
        capability = route.capability
        assert capability is not None
        grant = admitted.grant
        payload = parse_payload(body)
        model = requested_model(payload)
        self._policy.check(grant, capability, model, admitted.started_at)
        credential = self._credential(grant)
        key = await self._sealed_keys.key_for(credential)
        streamed = payload.get("stream") is True
        request_bytes = len(body)
        hide = False
        if streamed and capability is Capability.CHAT and ask_for_usage(payload):
            hide = True
            body = encode_payload(payload)
        limits = self._count(grant, route.dialect)
        self._policy.note_request(grant.grant_id)
        return Call(
            request_id=request_id,
            route=route,
            grant=grant,
            method="POST",
            url=credential.base_url.rstrip("/") + route.path,
            headers=upstream_headers(credential, key, passed),
            body=body,
            model=model,
            request_bytes=request_bytes,
            streamed=streamed,
            hide_usage_chunk=hide,
            started_at=admitted.started_at,
            started=admitted.started,
            limits=limits,
        )

    async def prepare_listing(self, route: Route, admitted: Admitted, passed: dict[str, str], request_id: str) -> Call:
        """The upstream call for the model list (any active grant may list; the answer is narrowed)."""
        grant = admitted.grant
        credential = self._credential(grant)
        key = await self._sealed_keys.key_for(credential)
        return Call(
            request_id=request_id,
            route=route,
            grant=grant,
            method="GET",
            url=credential.base_url.rstrip("/") + route.path,
            headers=upstream_headers(credential, key, passed),
            body=None,
            model="",
            request_bytes=0,
            streamed=False,
            hide_usage_chunk=False,
            started_at=admitted.started_at,
            started=admitted.started,
            limits=self._count(grant, route.dialect),
        )

    def _credential(self, grant: GrantState) -> CredentialState:
        credential = self._policy.credential_for(grant.tenant_id, grant.provider)
        if credential is None:
            raise Unavailable(
                ErrorCode.CREDENTIAL_NOT_FOUND, f"no active {grant.provider} credential is configured for this tenant"
            )
        return credential

    def _count(self, grant: GrantState, dialect: Dialect) -> Headers:
        """Count the request against the grant's per-minute limits (RateLimited if over); their headers."""
        if grant.rpm is None and grant.tpm is None:
            return []
        rates = self.limiter.admit(grant.grant_id, grant.rpm, grant.tpm, self._clock.monotonic())
        return rate_limit_headers(dialect, rates, self._clock.time())

    def refusal_limits(self, dialect: Dialect, grant: GrantState | None, error: ProxyError) -> Headers | None:
        """The rate-limit headers of a refusal: as they stood when refused, or as they stand now."""
        if isinstance(error, RateLimited):
            return rate_limit_headers(dialect, error.rates, self._clock.time())
        if grant is None or (grant.rpm is None and grant.tpm is None):
            return None
        rates = self.limiter.status(grant.grant_id, grant.rpm, grant.tpm, self._clock.monotonic())
        return rate_limit_headers(dialect, rates, self._clock.time())

    # --- send ----------------------------------------------------------------------

    async def send(self, call: Call) -> UpstreamResponse:
        """The call to the provider; its response's headers have arrived."""
        return await self._upstream.send(call.method, call.url, call.headers, call.body)

    @staticmethod
    def narrow_listing(grant: GrantState, raw: bytes) -> object:
        """The provider's model list with only the models the grant allows (UpstreamFailed if it is not JSON)."""
        try:
            listing = json.loads(raw)
        except ValueError:
            raise UpstreamFailed("the provider's model list is not JSON") from None
        if isinstance(listing, dict) and isinstance(listing.get("data"), list):
            listing["data"] = [
                m
                for m in listing["data"]
                if isinstance(m, dict) and isinstance(m.get("id"), str) and model_allowed(m["id"], grant.models)
            ]
        return listing

    # --- record --------------------------------------------------------------------

    def record(self, call: Call, usage: Usage, status: int) -> None:
        """Count the tokens against the grant's tpm window and queue the usage record."""
        capability = call.route.capability
        assert capability is not None
        grant = call.grant
        now = self._clock.monotonic()
        if grant.tpm is not None:
            self.limiter.spend(grant.grant_id, grant.tpm, usage.input_tokens + usage.output_tokens, now)
        self._usage.submit(
            UsageRecorded(
                # One event per request: its id reuses the request id's time and randomness (new_id is not free).
                event_id="evt_" + call.request_id.removeprefix("req_"),
                producer=self._producer,
                correlation_id=call.request_id,
                request_id=call.request_id,
                grant_id=grant.grant_id,
                tenant_id=grant.tenant_id,
                provider=grant.provider,
                model=call.model,
                capability=capability,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                estimated=usage.estimated,
                streamed=call.streamed,
                status_code=status,
                started_at=call.started_at,
                duration_ms=int((now - call.started) * 1000),
            )
        )
