"""Every error leaves the HTTP API as `{"error": {"code", "message"}}`; this is the only place that maps them."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tollgate_contracts import ErrorCode
from tollgate_keyvault.domain.errors import (
    BusUnavailable,
    ConcurrentUpdate,
    CredentialNotFound,
    InvalidInput,
    KeyUnavailable,
    KeyvaultError,
)

logger = logging.getLogger(__name__)


class Unauthorized(Exception):
    """The admin key is missing or wrong."""


_STATUS_CODES = {
    400: ErrorCode.INVALID_REQUEST.value,
    401: ErrorCode.INVALID_CREDENTIAL.value,
    404: "not_found",
    405: "method_not_allowed",
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _domain_error(exc: KeyvaultError) -> JSONResponse:
    if isinstance(exc, CredentialNotFound):
        return error_response(404, ErrorCode.CREDENTIAL_NOT_FOUND, str(exc))
    if isinstance(exc, InvalidInput):
        return error_response(400, ErrorCode.INVALID_REQUEST, str(exc))
    if isinstance(exc, ConcurrentUpdate):
        return error_response(409, "conflict", str(exc))
    if isinstance(exc, BusUnavailable):
        return error_response(503, "bus_unavailable", "the change is stored but the bus did not acknowledge it")
    if isinstance(exc, KeyUnavailable):
        return error_response(503, ErrorCode.PROVIDER_KEY_UNAVAILABLE, "the stored key cannot be opened")
    logger.error("unmapped keyvault error %s: %s", type(exc).__name__, exc)
    return error_response(500, ErrorCode.INTERNAL, "internal error")


def _validation_message(exc: RequestValidationError) -> str:
    # Location and pydantic's message only: the submitted value may be a provider key and is never echoed.
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    async def on_keyvault_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, KeyvaultError)
        return _domain_error(exc)

    async def on_unauthorized(request: Request, exc: Exception) -> JSONResponse:
        return error_response(
            401, ErrorCode.INVALID_CREDENTIAL, "missing or wrong admin key", headers={"WWW-Authenticate": "Bearer"}
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, ErrorCode.INVALID_REQUEST, _validation_message(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    app.add_exception_handler(KeyvaultError, on_keyvault_error)
    app.add_exception_handler(Unauthorized, on_unauthorized)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
