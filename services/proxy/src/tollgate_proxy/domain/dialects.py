"""Error bodies in the shape of the API the client called, so the official SDKs raise the right exception.

OpenAI: `{"error": {"message", "type", "param", "code"}}`; Anthropic:
`{"type": "error", "error": {"type", "message"}, "request_id"}`. Both SDKs map
the HTTP status to their exception class (401 AuthenticationError, 403
PermissionDeniedError, 429 RateLimitError, …); the `type` mirrors what the
provider itself would send for that status.

Rate-limit headers use each provider's own names: OpenAI's
`x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (reset as a duration,
`6m0s`), Anthropic's `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}`
(reset as an RFC 3339 time).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tollgate_contracts import ErrorCode
from tollgate_proxy.domain.errors import ProxyError, RateLimited
from tollgate_proxy.domain.ratelimit import Quota, RateStatus


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


OPENAI_RATE_LIMIT_CODE = "rate_limit_exceeded"
"""The `code` OpenAI gives a rate-limit refusal; its `type` says which limit (`requests`, `tokens`)."""


def openai_error(
    status: int, code: str, message: str, param: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    """An OpenAI-shaped error object (`kind`, when given, is its `type`)."""
    if kind is None:
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
    elif isinstance(error, RateLimited):
        body = openai_error(error.status, OPENAI_RATE_LIMIT_CODE, error.message, kind=error.kind)
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


def duration(seconds: float) -> str:
    """A duration the way OpenAI writes its reset headers (Go's style): `0s`, `250ms`, `8.571s`, `6m0s`, `1h2m3s`."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    whole_minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(whole_minutes), 60)
    text = f"{math.ceil(rest * 1000) / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(math.ceil(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rate_limit_headers(dialect: Dialect, rates: RateStatus, now: float) -> list[tuple[bytes, bytes]]:
    """The grant's limit, remaining and reset per limit it has, in the dialect's names; `now` is epoch seconds."""
    headers: list[tuple[bytes, bytes]] = []
    for kind, quota in (("requests", rates.requests), ("tokens", rates.tokens)):
        if quota is None:
            continue
        if dialect is Dialect.ANTHROPIC:
            headers += _anthropic(kind, quota, now)
        else:
            headers += [
                (f"x-ratelimit-limit-{kind}".encode(), str(quota.limit).encode()),
                (f"x-ratelimit-remaining-{kind}".encode(), str(quota.remaining).encode()),
                (f"x-ratelimit-reset-{kind}".encode(), duration(quota.reset_seconds).encode()),
            ]
    return headers


def _anthropic(kind: str, quota: Quota, now: float) -> list[tuple[bytes, bytes]]:
    prefix = f"anthropic-ratelimit-{kind}-"
    return [
        ((prefix + "limit").encode(), str(quota.limit).encode()),
        ((prefix + "remaining").encode(), str(quota.remaining).encode()),
        ((prefix + "reset").encode(), _rfc3339(now + quota.reset_seconds).encode()),
    ]
