"""One proxied request, in the order of DESIGN.md "The request path".

credential → token or API key → grant policy → body (bounded) → model policy →
provider key → rate limits → upstream → relay → usage record (and the tokens it
used, against the grant's token window). Every refusal is a ProxyError rendered
in the route's dialect; the usage record is queued, never awaited. Once the
grant is known, every answer for a grant with `rpm` or `tpm` carries the
rate-limit headers of the route's dialect.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from tollgate_contracts import Capability, CredentialState, ErrorCode, GrantState, UsageRecorded, new_id, utcnow
from tollgate_proxy.adapters.http1 import Response
from tollgate_proxy.adapters.sealed_keys import SealedKeys
from tollgate_proxy.adapters.upstream import Upstream
from tollgate_proxy.adapters.usage_publisher import UsagePublisher
from tollgate_proxy.api.asgi import ClientGone, Headers, Receive, Scope, Send, read_body, send_bytes, send_json
from tollgate_proxy.api.credentials import RequestHeaders, read_headers
from tollgate_proxy.api.errors import send_error
from tollgate_proxy.api.relay import UpstreamBroke, relay_json, relay_stream, response_headers
from tollgate_proxy.api.routes import Route
from tollgate_proxy.authenticator import Authenticator
from tollgate_proxy.domain.dialects import Dialect, rate_limit_headers
from tollgate_proxy.domain.errors import (
    Forbidden,
    InvalidRequest,
    ProxyError,
    RateLimited,
    Unavailable,
    UpstreamFailed,
)
from tollgate_proxy.domain.policy import check_grant, model_allowed
from tollgate_proxy.domain.ratelimit import RateLimiter
from tollgate_proxy.domain.usage import Usage, estimate_tokens
from tollgate_proxy.policy_cache import PolicyCache
from tollgate_proxy.readiness import Readiness

logger = logging.getLogger(__name__)

ANTHROPIC_VERSION = "2023-06-01"
MAX_ERROR_BODY_BYTES = 1024 * 1024
MAX_LISTING_BYTES = 8 * 1024 * 1024


@dataclass(slots=True)
class Call:
    """A request that passed every check and is about to go upstream."""

    request_id: str
    route: Route
    grant: GrantState
    model: str
    body: bytes
    request_bytes: int
    streamed: bool
    hide_usage_chunk: bool
    url: str
    headers: dict[str, str]
    started_at: datetime
    started: float
    limits: Headers
    """Rate-limit headers for every answer to this call (none when the grant has no rpm or tpm)."""


def upstream_headers(credential: CredentialState, key: str, passed: dict[str, str]) -> dict[str, str]:
    """What the provider gets: its key in its own style, JSON, and the pass-through headers."""
    headers = {"content-type": "application/json", "accept-encoding": "identity", **passed}
    if credential.api_style == "anthropic":
        headers["x-api-key"] = key
        headers.setdefault("anthropic-version", ANTHROPIC_VERSION)
    else:
        headers["authorization"] = f"Bearer {key}"
    return headers


def parse_payload(body: bytes) -> dict[str, Any]:
    # orjson: several times cheaper than json on every request body. It refuses what no provider takes either
    # (NaN, Infinity, lone surrogates, integers beyond 64 bits): those bodies get a 400 here.
    try:
        payload = orjson.loads(body)
    except ValueError:
        raise InvalidRequest("request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRequest("request body must be a JSON object")
    return payload


def ask_for_usage(payload: dict[str, Any]) -> bool:
    """Make an OpenAI stream end with its usage chunk; True when the client had not asked for it itself."""
    options = payload.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") is True:
        return False
    payload["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
    return True


class Forwarder:
    """Handles the proxied routes."""

    def __init__(
        self,
        *,
        cache: PolicyCache,
        authenticator: Authenticator,
        readiness: Readiness,
        sealed_keys: SealedKeys,
        upstream: Upstream,
        publisher: UsagePublisher,
        producer: str,
        max_body_bytes: int,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache = cache
        self._authenticator = authenticator
        self._readiness = readiness
        self._sealed_keys = sealed_keys
        self._upstream = upstream
        self._publisher = publisher
        self._producer = producer
        self._max_body = max_body_bytes
        self._limiter = limiter if limiter is not None else RateLimiter()
        self._clock = clock

    async def __call__(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_id("req")
        started_at = utcnow()
        started = time.perf_counter()
        grant: GrantState | None = None
        try:
            headers = read_headers(scope["headers"])
            grant = self._admit(headers)
            if route.capability is None:
                await self._list_models(route, grant, headers, send, request_id)
                return
            call = await self._prepare(route, grant, headers, receive, request_id, started_at, started)
            response = await self._upstream.send("POST", call.url, call.headers, call.body)
        except ProxyError as error:
            await send_error(send, route.dialect, error, request_id, self._limits_told(route.dialect, grant, error))
            return
        except ClientGone:
            return
        async with response:
            await self._answer(call, response, receive, send)

    # --- checks ------------------------------------------------------------------

    def _admit(self, headers: RequestHeaders) -> GrantState:
        """Ready, a valid credential, and a grant that is active right now."""
        self._readiness.check()
        principal = self._authenticator.authenticate(headers.credential, time.time())
        grant = self._cache.grants.get(principal.grant_id)
        if grant is None or grant.tenant_id != principal.tenant_id:
            raise Forbidden(ErrorCode.GRANT_NOT_FOUND, f"grant {principal.grant_id} is not known to this proxy")
        check_grant(grant, utcnow())
        return grant

    def _count(self, grant: GrantState, dialect: Dialect) -> Headers:
        """Count the request against the grant's per-minute limits (RateLimited if over); their headers."""
        if grant.rpm is None and grant.tpm is None:
            return []
        rates = self._limiter.admit(grant.grant_id, grant.rpm, grant.tpm, self._clock())
        return rate_limit_headers(dialect, rates, time.time())

    def _limits_told(self, dialect: Dialect, grant: GrantState | None, error: ProxyError) -> Headers | None:
        """The rate-limit headers of a refusal: as they stood when refused, or as they stand now."""
        if isinstance(error, RateLimited):
            return rate_limit_headers(dialect, error.rates, time.time())
        if grant is None or (grant.rpm is None and grant.tpm is None):
            return None
        rates = self._limiter.status(grant.grant_id, grant.rpm, grant.tpm, self._clock())
        return rate_limit_headers(dialect, rates, time.time())

    def _credential(self, grant: GrantState) -> CredentialState:
        credential = self._cache.credential_for(grant.tenant_id, grant.provider)
        if credential is None:
            raise Unavailable(
                ErrorCode.CREDENTIAL_NOT_FOUND, f"no active {grant.provider} credential is configured for this tenant"
            )
        return credential

    async def _prepare(
        self,
        route: Route,
        grant: GrantState,
        headers: RequestHeaders,
        receive: Receive,
        request_id: str,
        started_at: datetime,
        started: float,
    ) -> Call:
        assert route.capability is not None
        body = await read_body(receive, headers.content_length, self._max_body)
        payload = parse_payload(body)
        model = payload.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequest("request body has no `model`")
        self._cache.check(grant, route.capability, model, utcnow())
        credential = self._credential(grant)
        key = await self._sealed_keys.key_for(credential)
        streamed = payload.get("stream") is True
        request_bytes = len(body)
        hide = False
        if streamed and route.capability is Capability.CHAT and ask_for_usage(payload):
            hide = True
            body = orjson.dumps(payload)
        limits = self._count(grant, route.dialect)
        self._cache.note_request(grant.grant_id)
        return Call(
            request_id=request_id,
            route=route,
            grant=grant,
            model=model,
            body=body,
            request_bytes=request_bytes,
            streamed=streamed,
            hide_usage_chunk=hide,
            url=credential.base_url.rstrip("/") + route.path,
            headers=upstream_headers(credential, key, headers.passed_through),
            started_at=started_at,
            started=started,
            limits=limits,
        )

    # --- answers -----------------------------------------------------------------

    async def _answer(self, call: Call, response: Response, receive: Receive, send: Send) -> None:
        if response.status >= 400:
            try:
                await self._forward_error(call.request_id, response, send, call.limits)
            except ProxyError as error:
                await send_error(send, call.route.dialect, error, call.request_id, call.limits)
            return
        content_type = response.headers.get("content-type", "")
        try:
            if content_type.startswith("text/event-stream"):
                usage = await relay_stream(
                    response,
                    receive,
                    send,
                    dialect=call.route.dialect,
                    request_id=call.request_id,
                    request_bytes=call.request_bytes,
                    hide_usage_chunk=call.hide_usage_chunk,
                    extra_headers=call.limits,
                )
            else:
                usage = await relay_json(
                    response,
                    send,
                    dialect=call.route.dialect,
                    request_id=call.request_id,
                    request_bytes=call.request_bytes,
                    extra_headers=call.limits,
                )
        except UpstreamBroke as broke:
            logger.warning("request %s: the provider broke off the answer (%s)", call.request_id, broke)
            self._record(call, Usage(estimate_tokens(call.request_bytes), 0, estimated=True), response.status)
            raise
        self._record(call, usage, response.status)

    async def _forward_error(self, request_id: str, response: Response, send: Send, limits: Headers) -> None:
        """The provider's own error, status and body, in its own shape."""
        body = await response.read(MAX_ERROR_BODY_BYTES)
        logger.info("request %s: the provider answered %d", request_id, response.status)
        headers = response_headers(response, request_id, keep_length=False, extra=limits)
        await send_bytes(send, response.status, body, headers)

    async def _list_models(
        self, route: Route, grant: GrantState, headers: RequestHeaders, send: Send, request_id: str
    ) -> None:
        """The provider's model list, narrowed to what the grant allows."""
        credential = self._credential(grant)
        key = await self._sealed_keys.key_for(credential)
        url = credential.base_url.rstrip("/") + route.path
        limits = self._count(grant, route.dialect)
        response = await self._upstream.send(
            "GET", url, upstream_headers(credential, key, headers.passed_through), None
        )
        async with response:
            if response.status >= 400:
                await self._forward_error(request_id, response, send, limits)
                return
            try:
                listing = json.loads(await response.read(MAX_LISTING_BYTES))
            except ValueError:
                raise UpstreamFailed("the provider's model list is not JSON") from None
        if isinstance(listing, dict) and isinstance(listing.get("data"), list):
            listing["data"] = [
                m
                for m in listing["data"]
                if isinstance(m, dict) and isinstance(m.get("id"), str) and model_allowed(m["id"], grant.models)
            ]
        await send_json(send, 200, listing, [(b"x-tollgate-request-id", request_id.encode()), *limits])

    def _record(self, call: Call, usage: Usage, status: int) -> None:
        assert call.route.capability is not None
        if call.grant.tpm is not None:
            self._limiter.spend(
                call.grant.grant_id, call.grant.tpm, usage.input_tokens + usage.output_tokens, self._clock()
            )
        self._publisher.submit(
            UsageRecorded(
                # One event per request: its id reuses the request id's time and randomness (new_id is not free).
                event_id="evt_" + call.request_id.removeprefix("req_"),
                producer=self._producer,
                correlation_id=call.request_id,
                request_id=call.request_id,
                grant_id=call.grant.grant_id,
                tenant_id=call.grant.tenant_id,
                provider=call.grant.provider,
                model=call.model,
                capability=call.route.capability,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                estimated=usage.estimated,
                streamed=call.streamed,
                status_code=status,
                started_at=call.started_at,
                duration_ms=int((time.perf_counter() - call.started) * 1000),
            )
        )
