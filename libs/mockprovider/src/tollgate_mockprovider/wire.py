"""What every API handler shares: the reply types, the request identity and request-field checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import orjson

from tollgate_mockprovider.errors import ProviderError

dumps = orjson.dumps


def dumps_str(value: object) -> str:
    """JSON text to splice into a pre-encoded template."""
    return orjson.dumps(value).decode()


class Ident(NamedTuple):
    """The unique part of this request's ids (`chatcmpl-…`, `msg_…`, `req_…`) and its Unix time."""

    hex: str
    created: int


@dataclass(frozen=True, slots=True)
class JsonReply:
    body: bytes


@dataclass(frozen=True, slots=True)
class StreamReply:
    """Server-sent events: `head` at once, then `chunks` paced by the chunk delay, then `tail`."""

    head: bytes
    chunks: tuple[bytes, ...]
    tail: bytes


Reply = JsonReply | StreamReply


def require_model(body: dict[str, object]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ProviderError(400, "'model' is required and must be a non-empty string.", param="model")
    return model


def require_messages(body: dict[str, object]) -> list[dict[str, object]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise ProviderError(400, "'messages' must be a non-empty array of message objects.", param="messages")
    return messages


def optional_positive_int(body: dict[str, object], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProviderError(400, f"'{key}' must be a positive integer.", param=key)
    return value
