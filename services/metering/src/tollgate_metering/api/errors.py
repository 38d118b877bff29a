"""The one place errors become HTTP responses: `{"error": {"code", "message"}}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tollgate_contracts import ErrorCode
from tollgate_metering.domain.errors import GrantNotFound, MeteringError, NotAuthorized, NotReady, Unavailable

logger = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: ErrorCode.INVALID_CREDENTIAL.value}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def _metering_error(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, GrantNotFound):
        return error_response(404, ErrorCode.GRANT_NOT_FOUND.value, str(exc))
    if isinstance(exc, NotAuthorized):
        return error_response(401, ErrorCode.INVALID_CREDENTIAL.value, str(exc), {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, NotReady | Unavailable):
        logger.warning("request refused: %s", exc)
        return error_response(503, "unavailable", str(exc), {"Retry-After": "1"})
    logger.error("unmapped metering error: %s", exc)
    return error_response(500, ErrorCode.INTERNAL.value, "internal error")


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
    return error_response(422, ErrorCode.INVALID_REQUEST.value, message)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MeteringError, _metering_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
