"""Error bodies in OpenAI and Anthropic shape."""

from __future__ import annotations

import json

from tollgate_contracts import ErrorCode
from tollgate_proxy.domain.dialects import Dialect, error_body, error_headers, stream_error_event
from tollgate_proxy.domain.errors import (
    BodyTooLarge,
    CredentialRejected,
    Forbidden,
    LimitReached,
    Unavailable,
    UpstreamTimedOut,
)


def test_openai_shape_has_message_type_param_and_code() -> None:
    error = CredentialRejected(ErrorCode.INVALID_CREDENTIAL, "API key is not valid")
    body = json.loads(error_body(Dialect.OPENAI, error, "req_1"))
    assert body == {
        "error": {
            "message": "API key is not valid",
            "type": "authentication_error",
            "param": None,
            "code": "invalid_credential",
        }
    }


def test_anthropic_shape_has_type_error_and_request_id() -> None:
    error = Forbidden(ErrorCode.MODEL_NOT_ALLOWED, "model not allowed")
    body = json.loads(error_body(Dialect.ANTHROPIC, error, "req_1"))
    assert body == {
        "type": "error",
        "error": {"type": "permission_error", "message": "model not allowed"},
        "request_id": "req_1",
    }


def test_types_follow_the_status_in_each_dialect() -> None:
    cases = [
        (BodyTooLarge(10), "invalid_request_error", "request_too_large"),
        (LimitReached(ErrorCode.RATE_LIMITED, "slow down"), "rate_limit_error", "rate_limit_error"),
        (LimitReached(ErrorCode.BUDGET_EXHAUSTED, "spent"), "insufficient_quota", "rate_limit_error"),
        (Unavailable(ErrorCode.POLICY_STALE, "stale"), "server_error", "overloaded_error"),
        (UpstreamTimedOut("slow"), "server_error", "timeout_error"),
    ]
    for error, openai_type, anthropic_type in cases:
        assert json.loads(error_body(Dialect.OPENAI, error))["error"]["type"] == openai_type
        assert json.loads(error_body(Dialect.ANTHROPIC, error))["error"]["type"] == anthropic_type


def test_headers_tell_sdks_whether_to_retry_and_when() -> None:
    spent = LimitReached(ErrorCode.BUDGET_EXHAUSTED, "spent", should_retry=False)
    assert (b"x-should-retry", b"false") in error_headers(spent)
    stale = Unavailable(ErrorCode.POLICY_STALE, "stale", retry_after=5)
    headers = error_headers(stale, "req_9")
    assert (b"retry-after", b"5") in headers
    assert (b"x-tollgate-request-id", b"req_9") in headers
    assert (b"content-type", b"application/json") in headers


def test_stream_error_events_in_each_dialect() -> None:
    error = UpstreamTimedOut("the provider did not answer in time")
    openai = stream_error_event(Dialect.OPENAI, error)
    assert openai.startswith(b"data: ") and openai.endswith(b"\n\n")
    assert json.loads(openai[6:])["error"]["code"] == "upstream_timeout"
    anthropic = stream_error_event(Dialect.ANTHROPIC, error)
    assert anthropic.startswith(b"event: error\ndata: ")
    assert json.loads(anthropic.split(b"data: ", 1)[1])["error"]["type"] == "timeout_error"
