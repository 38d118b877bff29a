"""Error codes shared by every service, carried in replies and in the `code` field of HTTP errors, and the
HTTP error body every admin API answers with."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from tollgate_contracts.envelope import Message


class ErrorCode(StrEnum):
    """Why a request was refused or failed. Stable strings: clients match on them."""

    INVALID_CREDENTIAL = "invalid_credential"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"
    GRANT_NOT_FOUND = "grant_not_found"
    GRANT_REVOKED = "grant_revoked"
    GRANT_EXPIRED = "grant_expired"
    CAPABILITY_NOT_ALLOWED = "capability_not_allowed"
    MODEL_NOT_ALLOWED = "model_not_allowed"
    BUDGET_EXHAUSTED = "budget_exhausted"
    REQUEST_LIMIT_REACHED = "request_limit_reached"
    RATE_LIMITED = "rate_limited"
    BREAKER_OPEN = "breaker_open"
    POLICY_STALE = "policy_stale"
    BODY_TOO_LARGE = "body_too_large"
    INVALID_REQUEST = "invalid_request"
    CREDENTIAL_NOT_FOUND = "credential_not_found"
    PROVIDER_KEY_UNAVAILABLE = "provider_key_unavailable"
    UPSTREAM_ERROR = "upstream_error"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    INTERNAL = "internal"


class ErrorDetail(Message):
    """What went wrong: a stable code to match on and a sentence for people."""

    code: str = Field(
        description="Stable machine-readable reason (an `ErrorCode` value, or e.g. `not_found`); clients match on it."
    )
    message: str = Field(description="One readable sentence; never holds a secret or a long submitted value.")


class ErrorBody(Message):
    """The body of every error an admin HTTP API answers: `{"error": {"code": …, "message": …}}`."""

    error: ErrorDetail = Field(description="The error.")
