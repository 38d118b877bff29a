"""Token usage from the provider's own fields, and an estimate when it never said.

OpenAI reports `usage` in a JSON body and, when streaming with
`stream_options.include_usage`, in a final chunk whose `choices` is empty.
Anthropic reports input tokens in `message_start` and the running output
count in `message_delta`. A stream cut short (client gone, upstream broken)
is estimated: input from the request size, output one token per delta event,
which is how both providers stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from tollgate_proxy.domain.sse import SseEvent

BYTES_PER_TOKEN = 4
"""The usual rule of thumb for English text and JSON; used only for estimates."""

_USAGE_KEY = b'"usage"'
_WHITESPACE = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one request consumed."""

    input_tokens: int
    output_tokens: int
    estimated: bool = False


def estimate_tokens(size_bytes: int) -> int:
    """A rough token count for `size_bytes` of text."""
    return (max(size_bytes, 0) + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def openai_usage(usage: object) -> Usage | None:
    """Usage from an OpenAI `usage` object (chat, embeddings, or the responses API's field names)."""
    if not isinstance(usage, dict):
        return None
    input_tokens = usage.get("prompt_tokens", usage.get("input_tokens"))
    output_tokens = usage.get("completion_tokens", usage.get("output_tokens", 0))
    if input_tokens is None:
        return None
    return Usage(_count(input_tokens), _count(output_tokens))


def anthropic_usage(usage: object) -> Usage | None:
    """Usage from an Anthropic `usage` object; cache writes and reads count as input."""
    if not isinstance(usage, dict):
        return None
    input_tokens = (
        _count(usage.get("input_tokens"))
        + _count(usage.get("cache_creation_input_tokens"))
        + _count(usage.get("cache_read_input_tokens"))
    )
    return Usage(input_tokens, _count(usage.get("output_tokens")))


def _loads(body: bytes) -> Any:
    # orjson: read on every answer and on every usage-carrying stream event, where json costs several times more.
    try:
        return orjson.loads(body)
    except ValueError:
        return None


LARGE_BODY_BYTES = 64 * 1024
"""Above this, a body's usage is read from its tail instead of parsing it whole (embeddings run to megabytes)."""

_DECODER = json.JSONDecoder()


def _tail_usage(body: bytes) -> object:
    """The value of the last `"usage"` key, without parsing what comes before it (None if there is none)."""
    index = body.rfind(_USAGE_KEY)
    while index >= 0:
        if index == 0 or body[index - 1] != 0x5C:  # an escaped quote is inside a string, not a key
            tail = body[index + len(_USAGE_KEY) :].decode("utf-8", "replace").lstrip()
            if tail.startswith(":"):
                try:
                    return _DECODER.raw_decode(tail[1:].lstrip())[0]
                except ValueError:
                    return None
        index = body.rfind(_USAGE_KEY, 0, index)
    return None


def _body_usage(body: bytes) -> object:
    if len(body) > LARGE_BODY_BYTES:
        return _tail_usage(body)
    parsed = _loads(body)
    return parsed.get("usage") if isinstance(parsed, dict) else None


def from_openai_body(body: bytes) -> Usage | None:
    """Usage from a complete OpenAI JSON response body, if it has any."""
    return openai_usage(_body_usage(body))


def from_anthropic_body(body: bytes) -> Usage | None:
    """Usage from a complete Anthropic JSON response body, if it has any."""
    return anthropic_usage(_body_usage(body))


def may_carry_usage(data: bytes) -> bool:
    """False when `data` surely has no non-null `usage` key; lets the relay skip parsing most chunks.

    With `include_usage` every OpenAI chunk carries `"usage":null`; only the last has an object.
    """
    start = 0
    while True:
        found = data.find(_USAGE_KEY, start)
        if found < 0:
            return False
        index = found + len(_USAGE_KEY)
        while index < len(data) and data[index] in _WHITESPACE:
            index += 1
        if index < len(data) and data[index] == 0x3A:  # ':'
            index += 1
            while index < len(data) and data[index] in _WHITESPACE:
                index += 1
            if index < len(data) and data[index] != 0x6E:  # anything but `null`
                return True
        start = index


class OpenAIStreamUsage:
    """Follows an OpenAI chat stream; tells the relay which event is the usage chunk to hide."""

    __slots__ = ("_deltas", "_hide", "_usage")

    def __init__(self, *, hide_usage_chunk: bool) -> None:
        self._hide = hide_usage_chunk
        self._usage: Usage | None = None
        self._deltas = 0

    def observe(self, event: SseEvent) -> bool:
        """Take note of `event`; True when it must not reach the client."""
        data = event.data
        if data is None or data == b"[DONE]":
            return False
        if not may_carry_usage(data):
            self._deltas += 1
            return False
        parsed = _loads(data)
        usage = openai_usage(parsed.get("usage")) if isinstance(parsed, dict) else None
        if usage is None:
            self._deltas += 1
            return False
        self._usage = usage
        return self._hide and isinstance(parsed, dict) and parsed.get("choices") == []

    def result(self, request_bytes: int) -> Usage:
        """What the provider reported, else an estimate."""
        if self._usage is not None:
            return self._usage
        return Usage(estimate_tokens(request_bytes), self._deltas, estimated=True)


class AnthropicStreamUsage:
    """Follows an Anthropic messages stream (`message_start`, `content_block_delta`, `message_delta`)."""

    __slots__ = ("_deltas", "_final", "_input", "_output", "_started")

    def __init__(self) -> None:
        self._started = False
        self._final = False
        self._input = 0
        self._output = 0
        self._deltas = 0

    def observe(self, event: SseEvent) -> bool:
        """Take note of `event`; never hides one."""
        data = event.data
        if data is None:
            return False
        kind = event.event
        if kind == "content_block_delta":
            self._deltas += 1
        elif kind in ("message_start", "message_delta") or kind is None:
            self._record(_loads(data))
        return False

    def _record(self, parsed: object) -> None:
        if not isinstance(parsed, dict):
            return
        kind = parsed.get("type")
        if kind == "message_start":
            message = parsed.get("message")
            usage = anthropic_usage(message.get("usage")) if isinstance(message, dict) else None
            if usage is not None:
                self._started = True
                self._input = usage.input_tokens
                self._output = usage.output_tokens
        elif kind == "message_delta":
            usage = anthropic_usage(parsed.get("usage"))
            if usage is not None:
                self._final = True
                self._output = usage.output_tokens  # cumulative, not an increment
                self._input = max(self._input, usage.input_tokens)
        elif kind == "content_block_delta":
            self._deltas += 1

    def result(self, request_bytes: int) -> Usage:
        """What the provider reported, else as much as it said plus an estimate of the rest."""
        if self._final:
            return Usage(self._input, self._output)
        if self._started:
            return Usage(self._input, max(self._output, self._deltas), estimated=True)
        return Usage(estimate_tokens(request_bytes), self._deltas, estimated=True)
