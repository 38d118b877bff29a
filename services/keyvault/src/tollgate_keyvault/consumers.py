"""Bus handlers, thin: decode the request, call the service, answer, then audit. They never raise."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from tollgate_contracts import ErrorCode, SealReply, SealRequest
from tollgate_keyvault.service import KeyvaultService

logger = logging.getLogger(__name__)

_MAX_ID_ECHO = 64


Respond = Callable[[bytes], Awaitable[None]]


async def answer_seal(service: KeyvaultService, data: bytes, respond: Respond) -> None:
    """Answer a raw `keyvault.seal.v1` request with a JSON `SealReply` (malformed: `invalid_request`), then audit.

    The audit event is published after the answer, so a slow JetStream never delays a proxy waiting for its key.
    """
    try:
        request = SealRequest.model_validate_json(data)
    except ValidationError as exc:
        reply = SealReply(
            ok=False, credential_id=_credential_id(data), error=ErrorCode.INVALID_REQUEST, message=_first_error(exc)
        )
        await respond(_encode(reply))
        return
    try:
        sealing = await service.seal(request)
    except Exception:
        # The responder must answer every request: an unexpected failure (database down…) is an internal error.
        logger.exception("seal request for %s failed", request.credential_id)
        reply = SealReply(
            ok=False, credential_id=request.credential_id, error=ErrorCode.INTERNAL, message="keyvault failed"
        )
        await respond(_encode(reply))
        return
    await respond(_encode(sealing.reply))
    await service.record(sealing)


def _encode(reply: SealReply) -> bytes:
    return reply.model_dump_json(exclude_none=True).encode()


def _credential_id(data: bytes) -> str:
    """The credential id of a request that did not validate, when there is a plausible one to echo."""
    try:
        value = json.loads(data)
    except ValueError:
        return ""
    candidate = value.get("credential_id") if isinstance(value, dict) else None
    if isinstance(candidate, str) and len(candidate) <= _MAX_ID_ECHO and candidate.isprintable():
        return candidate
    return ""


def _first_error(exc: ValidationError) -> str:
    # Only the location and pydantic's message: the input itself may be anything and is never echoed.
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return "malformed request"
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "request"
    return f"{where}: {first['msg']}"
