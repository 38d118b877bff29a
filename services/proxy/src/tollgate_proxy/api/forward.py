"""One proxied request at the ASGI edge: read it, let `ProxyService` decide, relay the provider's bytes.

Every refusal is a ProxyError rendered in the route's dialect, with the
grant's rate-limit headers once the grant is known. The usage record is
queued by the service, never awaited.
"""

from __future__ import annotations

import logging

from tollgate_contracts import new_id
from tollgate_proxy.api.asgi import ClientGone, Receive, Scope, Send, read_body, send_bytes, send_json
from tollgate_proxy.api.credentials import read_headers
from tollgate_proxy.api.errors import send_error
from tollgate_proxy.api.relay import UpstreamBroke, relay_json, relay_stream, response_headers
from tollgate_proxy.domain.dpop import BEARER, Presentation
from tollgate_proxy.domain.errors import CredentialRejected, ProxyError
from tollgate_proxy.domain.routes import Route
from tollgate_proxy.domain.usage import Usage, estimate_tokens
from tollgate_proxy.ports import UpstreamResponse
from tollgate_proxy.service import Admitted, Call, Headers, ProxyService

logger = logging.getLogger(__name__)

MAX_ERROR_BODY_BYTES = 1024 * 1024
MAX_LISTING_BYTES = 8 * 1024 * 1024


class Forwarder:
    """Handles the proxied routes."""

    def __init__(self, service: ProxyService) -> None:
        self._service = service

    async def __call__(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        service = self._service
        request_id = new_id("req")
        admitted: Admitted | None = None
        try:
            headers = read_headers(scope["headers"])
            presented = _presentation(scope, headers.proofs) if headers.dpop else BEARER
            admitted = await service.admit(headers.credential, presented)
            if route.capability is None:
                call = await service.prepare_listing(route, admitted, headers.passed_through, request_id)
            else:
                body = await read_body(receive, headers.content_length, service.max_body_bytes)
                call = await service.prepare(route, admitted, headers.passed_through, body, request_id)
            response = await service.send(call)
        except ProxyError as error:
            grant = admitted.grant if admitted is not None else None
            limits = service.refusal_limits(route.dialect, grant, error)
            if isinstance(error, CredentialRejected):
                limits = [*(limits or ()), *service.challenges(error)]
            await send_error(send, route.dialect, error, request_id, limits)
            return
        except ClientGone:
            return
        async with response:
            try:
                if response.status >= 400:
                    await _forward_error(call, response, send)
                elif route.capability is None:
                    await self._listing(call, response, send)
                else:
                    await self._answer(call, response, receive, send)
            except ProxyError as error:  # raised before anything was sent: the answer can still be a refusal
                await send_error(send, route.dialect, error, request_id, call.limits)

    async def _answer(self, call: Call, response: UpstreamResponse, receive: Receive, send: Send) -> None:
        dialect = call.route.dialect
        try:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                usage = await relay_stream(
                    response,
                    receive,
                    send,
                    dialect=dialect,
                    request_id=call.request_id,
                    request_bytes=call.request_bytes,
                    hide_usage_chunk=call.hide_usage_chunk,
                    extra_headers=call.limits,
                )
            else:
                usage = await relay_json(
                    response,
                    send,
                    dialect=dialect,
                    request_id=call.request_id,
                    request_bytes=call.request_bytes,
                    extra_headers=call.limits,
                )
        except UpstreamBroke as broke:
            logger.warning("request %s: the provider broke off the answer (%s)", call.request_id, broke)
            self._service.record(call, Usage(estimate_tokens(call.request_bytes), 0, estimated=True), response.status)
            raise
        self._service.record(call, usage, response.status)

    async def _listing(self, call: Call, response: UpstreamResponse, send: Send) -> None:
        """The provider's model list, narrowed to what the grant allows."""
        listing = self._service.narrow_listing(call.grant, await response.read(MAX_LISTING_BYTES))
        headers: Headers = [(b"x-tollgate-request-id", call.request_id.encode()), *call.limits]
        await send_json(send, 200, listing, headers)


def _presentation(scope: Scope, proofs: list[str] | None) -> Presentation:
    """A DPoP presentation: the proofs, and the method and path as sent (what the proof's `htu` names)."""
    raw_path: bytes | None = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    return Presentation(dpop=True, proofs=tuple(proofs or ()), method=scope["method"], path=path)


async def _forward_error(call: Call, response: UpstreamResponse, send: Send) -> None:
    """The provider's own error, status and body, in its own shape."""
    body = await response.read(MAX_ERROR_BODY_BYTES)
    logger.info("request %s: the provider answered %d", call.request_id, response.status)
    headers = response_headers(response, call.request_id, keep_length=False, extra=call.limits)
    await send_bytes(send, response.status, body, headers)
