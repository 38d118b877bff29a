"""Error bodies in the shape of the API the client called, so the official SDKs raise the right exception.

OpenAI: `{"error": {"message", "type", "param", "code"}}`; Anthropic:
`{"type": "error", "error": {"type", "message"}, "request_id"}`. Both SDKs map
the HTTP status to their exception class (401 AuthenticationError, 403
PermissionDeniedError, 429 RateLimitError, …); the `type` mirrors what the
provider itself would send for that status.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from tollgate_contracts import ErrorCode
from tollgate_proxy.domain.errors import ProxyError


class Dialect(StrEnum):
    """The wire dialect of a route."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"


_QUOTA_CODES = frozenset({ErrorCode.BUDGET_EXHAUSTED, ErrorCode.REQUEST_LIMIT_REACHED})

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}

_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
}


def openai_error(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """An OpenAI-shaped error object."""
    if status == 429 and code in _QUOTA_CODES:
        kind = "insufficient_quota"
    else:
        kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def anthropic_error(status: int, message: str, request_id: str | None = None) -> dict[str, Any]:
    """An Anthropic-shaped error object."""
    kind = _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def error_body(dialect: Dialect, error: ProxyError, request_id: str | None = None) -> bytes:
    """The encoded body for `error` in `dialect`."""
    if dialect is Dialect.ANTHROPIC:
        body = anthropic_error(error.status, error.message, request_id)
    else:
        body = openai_error(error.status, error.code.value, error.message)
    return json.dumps(body, separators=(",", ":")).encode()


def error_headers(error: ProxyError, request_id: str | None = None) -> list[tuple[bytes, bytes]]:
    """Response headers for `error`: content type, `Retry-After`, `x-should-retry`, the request id."""
    headers = [(b"content-type", b"application/json")]
    if error.retry_after is not None:
        headers.append((b"retry-after", str(error.retry_after).encode()))
    if error.should_retry is not None:
        headers.append((b"x-should-retry", b"true" if error.should_retry else b"false"))
    if request_id is not None:
        headers.append((b"x-tollgate-request-id", request_id.encode()))
    return headers


def stream_error_event(dialect: Dialect, error: ProxyError) -> bytes:
    """An SSE event telling a client mid-stream that the answer broke off; both SDKs raise on it."""
    if dialect is Dialect.ANTHROPIC:
        payload = json.dumps(anthropic_error(error.status, error.message), separators=(",", ":"))
        return f"event: error\ndata: {payload}\n\n".encode()
    payload = json.dumps(openai_error(error.status, error.code.value, error.message), separators=(",", ":"))
    return f"data: {payload}\n\n".encode()
