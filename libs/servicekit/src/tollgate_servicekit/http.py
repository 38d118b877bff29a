"""The HTTP edge every admin API shares: one error body (`tollgate_contracts.ErrorBody`), one set of exception
handlers, and a request-body limit.

| raised                                   | status                 | `error.code`                       |
|------------------------------------------|------------------------|------------------------------------|
| a domain error listed in `statuses`      | as listed              | its `.code`                        |
| `tollgate_servicekit.errors.Unavailable` | 503 (`Retry-After: 1`) | `unavailable`, `store_unavailable`… |
| `RequestValidationError`                 | 422                    | `invalid_request`                  |
| starlette `HTTPException`                | its status             | `not_found`, `method_not_allowed`… |
| a body over the limit                    | 413                    | `body_too_large`                   |
| anything else                            | 500                    | `internal`                         |

Every 401 carries `WWW-Authenticate: Bearer`. No body ever holds a traceback or a submitted value beyond a clipped
prefix; the server logs a 500's traceback once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tollgate_contracts import ErrorBody, ErrorCode, ErrorDetail
from tollgate_servicekit.errors import Unavailable
from tollgate_servicekit.redaction import clip

__all__ = [
    "BodyLimit",
    "BodyTooLarge",
    "clip",
    "describe_validation",
    "error_body",
    "error_response",
    "install_error_handlers",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 1 << 20
HTTP_CODES: Mapping[int, str] = {
    400: ErrorCode.INVALID_REQUEST.value,
    401: ErrorCode.INVALID_CREDENTIAL.value,
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: ErrorCode.BODY_TOO_LARGE.value,
    415: "unsupported_media_type",
    422: ErrorCode.INVALID_REQUEST.value,
    429: ErrorCode.RATE_LIMITED.value,
    503: "unavailable",
}
MAX_MESSAGE = 300


def error_body(code: str, message: str) -> dict[str, Any]:
    """`{"error": {"code", "message"}}`, checked against the contracts model."""
    return ErrorBody(error=ErrorDetail(code=str(code), message=message)).model_dump()


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """An `ErrorBody` response; 401s get `WWW-Authenticate: Bearer` unless `headers` say otherwise."""
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(error_body(code, message), status_code=status, headers=all_headers or None)


def describe_validation(exc: RequestValidationError) -> str:
    """One readable line naming the (first) bad field; never the submitted value, which may be a secret."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    where = ".".join(clip(part, 40) for part in first.get("loc", ()) if part != "body")
    what = clip(first.get("msg", "invalid"), 160)
    message = f"{where}: {what}" if where else what
    more = len(errors) - 1
    return message + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def install_error_handlers(app: FastAPI, *, statuses: Sequence[tuple[type[Exception], int]] = ()) -> None:
    """Register the handlers of the module table on `app`.

    `statuses` maps domain errors (exposing `.code` and `.message`) to statuses; the first entry an error is an
    instance of wins, so list subclasses before their bases. `Unavailable` is 503 unless listed otherwise.
    """
    table: tuple[tuple[type[Exception], int], ...] = (*statuses, (Unavailable, 503))

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        status = next((code for kind, code in table if isinstance(exc, kind)), 500)
        code = str(getattr(exc, "code", ErrorCode.INTERNAL.value))
        message = str(getattr(exc, "message", None) or exc)
        headers = {"Retry-After": "1"} if status == 503 else None
        if status >= 500:
            logger.warning("%s %s answered %d: %s", request.method, request.url.path, status, clip(message, 200))
        return error_response(status, code, clip(message, MAX_MESSAGE), headers)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, ErrorCode.INVALID_REQUEST.value, describe_validation(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, clip(exc.detail, MAX_MESSAGE), exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after this handler has answered, so the server logs the traceback once.
        return error_response(500, ErrorCode.INTERNAL.value, "internal error")

    for kind, _status in table:
        app.add_exception_handler(kind, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


class BodyTooLarge(HTTPException):
    """Raised by the guarded `receive` once a streamed body passes the limit. An `HTTPException`, so FastAPI's
    body parsing lets it through (it wraps anything else into a 400)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {max_bytes} bytes")


class BodyLimit:
    """Pure-ASGI middleware refusing request bodies over `max_bytes` with 413 `body_too_large`: by
    `Content-Length` before reading anything, else by counting the streamed chunks."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_413(send, self.max_bytes)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            # Reached only when no handler inside answered it (a raw ASGI app, or one without our handlers).
            if started:
                raise
            await _send_413(send, self.max_bytes)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, max_bytes: int) -> None:
    response = error_response(
        413, ErrorCode.BODY_TOO_LARGE.value, f"the request body is larger than the limit of {max_bytes} bytes"
    )
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
