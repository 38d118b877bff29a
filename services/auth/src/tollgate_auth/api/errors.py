"""Every error leaves auth as `{"error": {"code", "message"}}`. The one place errors meet HTTP statuses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tollgate_auth.domain.errors import (
    AuthError,
    Conflict,
    InvalidRequest,
    NotFound,
    Unauthorized,
    Unavailable,
)
from tollgate_contracts import ErrorCode

log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[AuthError], int], ...] = (
    (InvalidRequest, 422),
    (Unauthorized, 401),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
)
_HTTP_CODES = {400: "bad_request", 401: ErrorCode.INVALID_CREDENTIAL.value, 404: "not_found", 405: "method_not_allowed"}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def status_of(exc: AuthError) -> int:
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 500)


async def _auth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    status = status_of(exc)
    if status == 500:
        log.error("unmapped error %s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc.message)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, exc.code, exc.message, headers)


def describe_validation(exc: RequestValidationError) -> str:
    """One readable line naming the field; never echoes the input, which may hold a secret."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid"))
    more = len(errors) - 1
    return message + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, ErrorCode.INVALID_REQUEST.value, describe_validation(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers) if exc.headers else None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this handler answers, so the server logs the traceback once; not logged here.
    return error_response(500, ErrorCode.INTERNAL.value, "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AuthError, _auth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
