"""The SSE parser: events come out whole and byte-exact however the network splits them."""

from __future__ import annotations

import random

import pytest

from tollgate_proxy.domain.sse import SseEvent, SseParser

OPENAI_STREAM = (
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"h\xc3\xa9llo"}}]}\n\n'
    b": keep-alive\n\n"
    b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)

ANTHROPIC_STREAM = (
    b'event: message_start\r\ndata: {"type":"message_start"}\r\n\r\n'
    b'event: content_block_delta\r\ndata: {"type":"content_block_delta"}\r\n\r\n'
    b"event: ping\rdata: {}\r\r"
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


def parse_all(stream: bytes, cuts: list[int], *, fast: bool = True) -> list[SseEvent]:
    parser = SseParser(lf_fast_path=fast)
    events: list[SseEvent] = []
    previous = 0
    for cut in [*cuts, len(stream)]:
        events.extend(parser.feed(stream[previous:cut]))
        previous = cut
    events.extend(parser.close())
    return events


def test_events_carry_their_fields_and_exact_bytes() -> None:
    events = parse_all(OPENAI_STREAM, [])
    assert [e.data for e in events] == [
        b'{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}',
        b'{"id":"c1","choices":[{"index":0,"delta":{"content":"h\xc3\xa9llo"}}]}',
        None,
        b'{"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}',
        b"[DONE]",
    ]
    assert b"".join(e.raw for e in events) == OPENAI_STREAM


def test_every_line_ending_style_is_understood() -> None:
    events = parse_all(ANTHROPIC_STREAM, [])
    assert [e.event for e in events] == ["message_start", "content_block_delta", "ping", "message_stop"]
    assert events[2].data == b"{}"
    assert b"".join(e.raw for e in events) == ANTHROPIC_STREAM


@pytest.mark.parametrize("stream", [OPENAI_STREAM, ANTHROPIC_STREAM], ids=["openai", "anthropic"])
def test_splitting_at_every_single_byte_boundary_changes_nothing(stream: bytes) -> None:
    whole = parse_all(stream, [])
    for cut in range(1, len(stream)):
        assert parse_all(stream, [cut]) == whole, f"split at byte {cut}"


@pytest.mark.parametrize("stream", [OPENAI_STREAM, ANTHROPIC_STREAM], ids=["openai", "anthropic"])
def test_splitting_into_random_pieces_changes_nothing(stream: bytes) -> None:
    whole = parse_all(stream, [])
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(stream)), rng.randint(1, 12)))
        assert parse_all(stream, cuts) == whole


def test_one_byte_at_a_time() -> None:
    assert parse_all(ANTHROPIC_STREAM, list(range(1, len(ANTHROPIC_STREAM)))) == parse_all(ANTHROPIC_STREAM, [])


def test_a_carriage_return_split_from_its_line_feed_is_one_line_ending() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n") == []
    (event,) = parser.feed(b"\r\n")
    assert event.data == b"a"
    assert event.raw == b"data: a\r\n\r\n"


def test_multiple_data_lines_join_with_newlines_and_the_optional_space_is_dropped_once() -> None:
    (event,) = parse_all(b"data:one\ndata:  two\ndata\n\n", [])
    assert event.data == b"one\n two\n"


def test_comments_ids_and_unknown_fields_are_kept_in_raw_but_not_in_data() -> None:
    stream = b": hello\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\n"
    (event,) = parse_all(stream, [])
    assert event.data == b"x"
    assert event.raw == stream


def test_an_unterminated_last_event_comes_out_on_close() -> None:
    parser = SseParser()
    assert parser.feed(b"data: [DONE]") == []
    (event,) = parser.close()
    assert event.data == b"[DONE]"
    assert event.raw == b"data: [DONE]"
    assert parser.close() == []


def test_an_event_name_applies_only_to_its_own_event() -> None:
    first, second = parse_all(b"event: a\ndata: 1\n\ndata: 2\n\n", [])
    assert (first.event, second.event) == ("a", None)


MIXED = OPENAI_STREAM + b"\n" + ANTHROPIC_STREAM + OPENAI_STREAM


@pytest.mark.parametrize("stream", [OPENAI_STREAM, MIXED, b"data: x\n\n\n\ndata: y\n\n"], ids=["lf", "mixed", "blank"])
def test_the_newline_fast_path_and_the_general_scanner_agree_on_every_split(stream: bytes) -> None:
    general = parse_all(stream, [], fast=False)
    assert b"".join(e.raw for e in general) == stream
    for cut in range(1, len(stream)):
        assert parse_all(stream, [cut]) == general, f"split at byte {cut}"
    rng = random.Random(11)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(stream)), rng.randint(1, min(20, len(stream) - 1))))
        assert parse_all(stream, cuts) == general
