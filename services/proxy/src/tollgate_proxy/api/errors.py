"""Every refusal leaves the proxy here, in the dialect of the route it was made on."""

from __future__ import annotations

from tollgate_proxy.api.asgi import Headers, Send, send_bytes
from tollgate_proxy.domain.dialects import Dialect, error_body, error_headers
from tollgate_proxy.domain.errors import ProxyError


async def send_error(
    send: Send, dialect: Dialect, error: ProxyError, request_id: str | None = None, extra: Headers | None = None
) -> None:
    headers = error_headers(error, request_id)
    if extra:
        headers += extra
    await send_bytes(send, error.status, error_body(dialect, error, request_id), headers)
