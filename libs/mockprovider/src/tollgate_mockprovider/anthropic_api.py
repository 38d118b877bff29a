"""Anthropic-shaped answers: messages (JSON and the real SSE event sequence) and the model list.

Stream: message_start (usage.input_tokens, output_tokens 1 as the real API reports), content_block_start,
ping, content_block_delta per word, content_block_stop, message_delta (usage.output_tokens, cumulative),
message_stop.
"""

from __future__ import annotations

from tollgate_mockprovider.errors import ProviderError
from tollgate_mockprovider.options import Options
from tollgate_mockprovider.tokens import input_tokens, output_words, reply_pieces, reply_text
from tollgate_mockprovider.wire import (
    Ident,
    JsonReply,
    Reply,
    StreamReply,
    dumps,
    dumps_str,
    optional_positive_int,
    require_messages,
    require_model,
)

MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")
_BLOCK_START = '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


def _usage(input_tokens: int, output_tokens: int) -> dict[str, object]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def messages(body: dict[str, object], options: Options, ident: Ident) -> Reply:
    model = require_model(body)
    conversation = require_messages(body)
    max_tokens = optional_positive_int(body, "max_tokens")
    if max_tokens is None:
        raise ProviderError(400, "max_tokens: Field required")
    prompt = input_tokens(conversation, body.get("system"))
    words, cut = output_words(options.chunks, max_tokens)
    stop_reason = "max_tokens" if cut else "end_turn"
    message_id = f"msg_{ident.hex}"
    if body.get("stream") is not True:
        payload = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": reply_text(words)}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": _usage(prompt, words),
        }
        return JsonReply(dumps(payload))
    start = {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": _usage(prompt, 1),
        },
    }
    head = (
        _event("message_start", dumps_str(start))
        + _event("content_block_start", _BLOCK_START)
        + _event("ping", '{"type":"ping"}')
    )
    chunks = tuple(
        _event(
            "content_block_delta",
            f'{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":{dumps_str(piece)}}}}}',
        ).encode()
        for piece in reply_pieces(words)
    )
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": words},
    }
    tail = (
        _event("content_block_stop", '{"type":"content_block_stop","index":0}')
        + _event("message_delta", dumps_str(delta))
        + _event("message_stop", '{"type":"message_stop"}')
    )
    return StreamReply(head.encode(), chunks, tail.encode())


def models_body(created_at: str) -> bytes:
    data = [{"type": "model", "id": m, "display_name": m, "created_at": created_at} for m in MODELS]
    return dumps({"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]})
