"""OpenAI-shaped answers: chat completions (JSON and SSE), embeddings, the model list.

Stream chunks are spliced from pre-encoded pieces: a stream of n words costs n small concatenations,
not n JSON encodings.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct
from functools import lru_cache

from tollgate_mockprovider.errors import ProviderError
from tollgate_mockprovider.options import Options
from tollgate_mockprovider.tokens import embedding_input_tokens, input_tokens, output_words, reply_pieces, reply_text
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

MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "text-embedding-3-small", "claude-sonnet-4-5", "claude-haiku-4-5")
_DONE = b"data: [DONE]\n\n"


# The hot path (a non-streamed completion) is one str.format over pre-written JSON: no dict, no encoder.
_USAGE = (
    '{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{total},'
    '"prompt_tokens_details":{{"cached_tokens":0,"audio_tokens":0}},'
    '"completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,'
    '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}'
)
_COMPLETION = (
    '{{"id":"chatcmpl-{id}","object":"chat.completion","created":{created},"model":{model},'
    '"choices":[{{"index":0,"message":{{"role":"assistant","content":{content},"refusal":null,"annotations":[]}},'
    '"logprobs":null,"finish_reason":"{finish}"}}],'
    '"usage":{usage},"service_tier":"default","system_fingerprint":null}}'
)


def usage_json(prompt: int, completion: int) -> str:
    return _USAGE.format(prompt=prompt, completion=completion, total=prompt + completion)


@lru_cache(maxsize=64)
def _content_json(words: int) -> str:
    return dumps_str(reply_text(words))


def _choice(delta: str, finish_reason: str = "null") -> str:
    return f'{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish_reason}}}'


def _include_usage(body: dict[str, object], stream: bool) -> bool:
    stream_options = body.get("stream_options")
    if stream_options is None:
        return False
    if not stream:
        raise ProviderError(
            400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
        )
    return isinstance(stream_options, dict) and stream_options.get("include_usage") is True


def chat_completions(body: dict[str, object], options: Options, ident: Ident) -> Reply:
    model = require_model(body)
    messages = require_messages(body)
    limit = optional_positive_int(body, "max_completion_tokens")
    if limit is None:
        limit = optional_positive_int(body, "max_tokens")
    stream = body.get("stream") is True
    include_usage = _include_usage(body, stream)
    prompt = input_tokens(messages)
    words, cut = output_words(options.chunks, limit)
    finish = "length" if cut else "stop"
    if not stream:
        body_text = _COMPLETION.format(
            id=ident.hex,
            created=ident.created,
            model=dumps_str(model),
            content=_content_json(words),
            finish=finish,
            usage=usage_json(prompt, words),
        )
        return JsonReply(body_text.encode())
    prefix = (
        f'data: {{"id":"chatcmpl-{ident.hex}","object":"chat.completion.chunk","created":{ident.created},'
        f'"model":{dumps_str(model)},"service_tier":"default","system_fingerprint":null,"choices":['
    )
    suffix = '],"usage":null}\n\n' if include_usage else "]}\n\n"
    head = prefix + _choice('{"role":"assistant","content":"","refusal":null}') + suffix
    chunks = tuple(
        (prefix + _choice('{"content":' + dumps_str(piece) + "}") + suffix).encode() for piece in reply_pieces(words)
    )
    tail = prefix + _choice("{}", f'"{finish}"') + suffix
    if include_usage:
        tail += f'{prefix}],"usage":{usage_json(prompt, words)}}}\n\n'
    return StreamReply(head.encode(), chunks, tail.encode() + _DONE)


def _vector(text: str, dimensions: int) -> list[float]:
    """A unit vector that depends only on the text: equal inputs embed equally."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    generator = random.Random(seed)  # noqa: S311 - a deterministic fake embedding, not cryptography
    values = [generator.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _embedding_inputs(body: dict[str, object]) -> list[object]:
    raw = body.get("input")
    if isinstance(raw, str) and raw:
        return [raw]
    if isinstance(raw, list) and raw:
        if all(isinstance(i, int) for i in raw):
            return [raw]  # one input given as token ids
        if all(isinstance(i, str) or (isinstance(i, list) and all(isinstance(t, int) for t in i)) for i in raw):
            return list(raw)
    raise ProviderError(
        400, "'input' must be a non-empty string, array of strings, or array of token arrays.", param="input"
    )


def embeddings(body: dict[str, object], default_dimensions: int) -> Reply:
    model = require_model(body)
    inputs = _embedding_inputs(body)
    dimensions = optional_positive_int(body, "dimensions") or default_dimensions
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise ProviderError(400, "'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
    data = []
    for index, item in enumerate(inputs):
        vector = _vector(item if isinstance(item, str) else dumps_str(item), dimensions)
        embedding: object = (
            base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode() if encoding == "base64" else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(embedding_input_tokens(item) for item in inputs)
    payload = {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return JsonReply(dumps(payload))


def models_body(created: int) -> bytes:
    data = [{"id": m, "object": "model", "created": created, "owned_by": "tollgate-mock"} for m in MODELS]
    return dumps({"object": "list", "data": data})
