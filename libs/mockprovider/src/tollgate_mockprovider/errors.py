"""Error bodies in each provider's own shape, so the official SDKs raise the matching exception.

OpenAI:    `{"error": {"message", "type", "param", "code"}}`
Anthropic: `{"type": "error", "error": {"type", "message"}, "request_id"}`
"""

from __future__ import annotations

from enum import Enum

import orjson


class Shape(Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


class ProviderError(Exception):
    """A refusal to answer with `status`; `code` is OpenAI's `code` field (Anthropic has none)."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param


_OPENAI_TYPES = {401: "invalid_request_error", 403: "permission_error", 429: "requests"}
_OPENAI_CODES = {401: "invalid_api_key", 404: "not_found", 429: "rate_limit_exceeded", 503: "service_unavailable"}
_ANTHROPIC_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}

INJECTED_MESSAGES = {
    500: "The server had an error while processing your request (injected by the mock provider).",
    529: "Overloaded (injected by the mock provider).",
}


def _openai_type(status: int) -> str:
    return _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def _anthropic_type(status: int) -> str:
    return _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(shape: Shape, error: ProviderError, request_id: str) -> bytes:
    if shape is Shape.ANTHROPIC:
        payload: dict[str, object] = {
            "type": "error",
            "error": {"type": _anthropic_type(error.status), "message": error.message},
            "request_id": request_id,
        }
    else:
        payload = {
            "error": {
                "message": error.message,
                "type": _openai_type(error.status),
                "param": error.param,
                "code": error.code if error.code is not None else _OPENAI_CODES.get(error.status),
            }
        }
    return orjson.dumps(payload)


def status_error(status: int) -> ProviderError:
    """The error a test asked for with `x-mock-error`, or an injected one."""
    message = INJECTED_MESSAGES.get(status, f"Error {status} requested with x-mock-error.")
    return ProviderError(status, message)
