"""Provider-shaped answers for the fake upstream: OpenAI chat completions and streams, Anthropic messages."""

from __future__ import annotations

import json
from typing import Any

WORDS = ("Hello", " from", " the", " fake")


def completion(model: str = "gpt-4o-mini", prompt_tokens: int = 9, completion_tokens: int = 4) -> dict[str, Any]:
    """A non-streamed OpenAI chat completion with its usage."""
    message = {"role": "assistant", "content": "".join(WORDS)}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def sse(data: Any, event: str | None = None) -> bytes:
    """One SSE event (`data: …` JSON, or `[DONE]` as it is)."""
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {text}\n\n".encode()


def openai_chunks(
    model: str = "gpt-4o-mini", *, prompt_tokens: int = 9, usage: bool = True, done: bool = True
) -> list[bytes]:
    """An OpenAI chat stream: one delta per word, the stop chunk, the usage chunk (`choices: []`), `[DONE]`."""
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model}
    chunks = [
        sse({**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}) for word in WORDS
    ]
    chunks.append(sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    if usage:
        counts = {"prompt_tokens": prompt_tokens, "completion_tokens": len(WORDS)}
        chunks.append(sse({**base, "choices": [], "usage": {**counts, "total_tokens": prompt_tokens + len(WORDS)}}))
    if done:
        chunks.append(sse("[DONE]"))
    return chunks


def anthropic_message(model: str = "claude-3-5-haiku-latest", input_tokens: int = 9) -> dict[str, Any]:
    """A non-streamed Anthropic message with its usage."""
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "".join(WORDS)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": len(WORDS)},
    }


def anthropic_events(model: str = "claude-3-5-haiku-latest", input_tokens: int = 9) -> list[bytes]:
    """An Anthropic message stream: message_start (input tokens) … message_delta (output tokens), message_stop."""
    message = {**anthropic_message(model, input_tokens), "content": [], "stop_reason": None}
    message["usage"] = {"input_tokens": input_tokens, "output_tokens": 1}
    events = [sse({"type": "message_start", "message": message}, "message_start")]
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    events.append(sse(block, "content_block_start"))
    for word in WORDS:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}}
        events.append(sse(delta, "content_block_delta"))
    events.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": len(WORDS)}}
    events.append(sse(delta, "message_delta"))
    events.append(sse({"type": "message_stop"}, "message_stop"))
    return events
