"""Usage extraction from every provider shape, and estimates when a stream is cut short."""

from __future__ import annotations

import json

from tollgate_proxy.domain.sse import SseEvent, SseParser
from tollgate_proxy.domain.usage import (
    LARGE_BODY_BYTES,
    AnthropicStreamUsage,
    OpenAIStreamUsage,
    Usage,
    estimate_tokens,
    from_anthropic_body,
    from_openai_body,
    may_carry_usage,
)


def events(stream: bytes) -> list[SseEvent]:
    parser = SseParser()
    return [*parser.feed(stream), *parser.close()]


def openai_chunk(content: str | None, *, usage: object = None, choices: bool = True) -> bytes:
    chunk: dict[str, object] = {"id": "c", "object": "chat.completion.chunk", "usage": usage}
    chunk["choices"] = [{"index": 0, "delta": {"content": content}}] if choices else []
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def test_openai_chat_completion_body() -> None:
    body = json.dumps(
        {"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": 12, "completion_tokens": 7}}
    ).encode()
    assert from_openai_body(body) == Usage(12, 7)


def test_openai_embeddings_body_has_no_output_tokens() -> None:
    body = json.dumps({"data": [{"embedding": [0.1]}], "usage": {"prompt_tokens": 8, "total_tokens": 8}}).encode()
    assert from_openai_body(body) == Usage(8, 0)


def test_a_large_body_is_read_from_its_tail() -> None:
    vectors = [{"embedding": [0.123456] * 2000, "index": i} for i in range(8)]
    body = json.dumps({"data": vectors, "usage": {"prompt_tokens": 99, "total_tokens": 99}}).encode()
    assert len(body) > LARGE_BODY_BYTES
    assert from_openai_body(body) == Usage(99, 0)


def test_a_large_body_whose_content_mentions_usage_in_a_string_is_not_fooled() -> None:
    text = 'say "usage": {"prompt_tokens": 1}' + "x" * LARGE_BODY_BYTES
    body = json.dumps({"usage": {"prompt_tokens": 5, "completion_tokens": 6}, "choices": [{"text": text}]}).encode()
    assert from_openai_body(body) == Usage(5, 6)


def test_no_usage_or_broken_json_gives_none() -> None:
    assert from_openai_body(b'{"choices": []}') is None
    assert from_openai_body(b"not json") is None
    assert from_anthropic_body(b'{"usage": null}') is None


def test_anthropic_message_body_counts_cache_tokens_as_input() -> None:
    body = json.dumps(
        {
            "type": "message",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 4,
                "cache_creation_input_tokens": 3,
                "cache_read_input_tokens": 2,
            },
        }
    ).encode()
    assert from_anthropic_body(body) == Usage(15, 4)


def test_usage_null_chunks_are_skipped_without_parsing() -> None:
    assert not may_carry_usage(b'{"choices":[{"delta":{}}],"usage":null}')
    assert not may_carry_usage(b'{"choices":[{"delta":{}}],"usage" : null}')
    assert may_carry_usage(b'{"choices":[],"usage":{"prompt_tokens":1}}')
    assert may_carry_usage(b'{"choices":[],"usage" :\n {"prompt_tokens":1}}')
    assert not may_carry_usage(b'{"choices":[{"delta":{"content":"the usage"}}]}')


def test_openai_stream_usage_chunk_is_hidden_when_the_proxy_asked_for_it() -> None:
    stream = (
        openai_chunk("Hel")
        + openai_chunk("lo")
        + openai_chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 2}, choices=False)
        + b"data: [DONE]\n\n"
    )
    tracker = OpenAIStreamUsage(hide_usage_chunk=True)
    hidden = [event.data for event in events(stream) if tracker.observe(event)]
    assert len(hidden) == 1 and b'"choices": []' in (hidden[0] or b"")
    assert tracker.result(request_bytes=100) == Usage(9, 2)


def test_openai_stream_usage_chunk_is_shown_when_the_client_asked_for_it() -> None:
    stream = openai_chunk("Hi") + openai_chunk(None, usage={"prompt_tokens": 4, "completion_tokens": 1}, choices=False)
    tracker = OpenAIStreamUsage(hide_usage_chunk=False)
    assert not any(tracker.observe(event) for event in events(stream))
    assert tracker.result(request_bytes=100) == Usage(4, 1)


def test_openai_stream_cut_short_is_estimated_from_the_deltas_and_the_request_size() -> None:
    stream = openai_chunk("a") + openai_chunk("b") + openai_chunk("c")
    tracker = OpenAIStreamUsage(hide_usage_chunk=True)
    for event in events(stream):
        tracker.observe(event)
    assert tracker.result(request_bytes=401) == Usage(estimate_tokens(401), 3, estimated=True)
    assert estimate_tokens(401) == 101


ANTHROPIC_EVENTS = [
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":25,"output_tokens":1}}}\n\n',
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0}\n\n',
    b'event: ping\ndata: {"type": "ping"}\n\n',
    b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"Hi"}}\n\n',
    b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":" there"}}\n\n',
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    b"event: message_delta\n"
    b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}\n\n',
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]


def test_anthropic_stream_takes_input_from_message_start_and_output_from_message_delta() -> None:
    tracker = AnthropicStreamUsage()
    assert not any(tracker.observe(event) for event in events(b"".join(ANTHROPIC_EVENTS)))
    assert tracker.result(request_bytes=100) == Usage(25, 15)


def test_anthropic_stream_cut_after_message_start_keeps_exact_input_and_estimates_output() -> None:
    tracker = AnthropicStreamUsage()
    for event in events(b"".join(ANTHROPIC_EVENTS[:5])):
        tracker.observe(event)
    assert tracker.result(request_bytes=100) == Usage(25, 2, estimated=True)


def test_anthropic_stream_cut_before_anything_is_estimated_entirely() -> None:
    tracker = AnthropicStreamUsage()
    assert tracker.result(request_bytes=80) == Usage(20, 0, estimated=True)


def test_anthropic_message_delta_with_input_tokens_raises_the_input_count() -> None:
    stream = ANTHROPIC_EVENTS[0] + (
        b'event: message_delta\ndata: {"type":"message_delta","usage":{"input_tokens":30,"output_tokens":5}}\n\n'
    )
    tracker = AnthropicStreamUsage()
    for event in events(stream):
        tracker.observe(event)
    assert tracker.result(request_bytes=0) == Usage(30, 5)
