"""The token rule and the per-request options, tested without a server."""

from __future__ import annotations

import pytest

from tollgate_mockprovider import Settings
from tollgate_mockprovider.options import BadOption, ErrorInjector, request_options
from tollgate_mockprovider.tokens import content_words, input_tokens, output_words, reply_pieces, reply_text


def test_input_tokens_are_words_plus_three_per_message() -> None:
    messages: list[dict[str, object]] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "one two  three\nfour"},
    ]
    assert input_tokens(messages) == (2 + 3) + (4 + 3)


def test_anthropic_system_prompt_counts_like_a_message() -> None:
    assert input_tokens([{"role": "user", "content": "hi"}], system="you are terse") == (1 + 3) + (3 + 3)


def test_text_parts_count_and_other_parts_do_not() -> None:
    parts = [{"type": "text", "text": "a b"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text"}]
    assert content_words(parts) == 2
    assert content_words(None) == 0


def test_output_is_cut_to_the_token_limit() -> None:
    assert output_words(8, None) == (8, False)
    assert output_words(8, 20) == (8, False)
    assert output_words(8, 3) == (3, True)


def test_reply_pieces_join_into_the_reply_text_one_word_each() -> None:
    pieces = reply_pieces(25)
    assert len(pieces) == 25
    assert "".join(pieces) == reply_text(25)
    assert len(reply_text(25).split()) == 25


def test_headers_override_the_settings() -> None:
    settings = Settings(chunks=4, latency_ms=5)
    options = request_options(settings, {b"x-mock-chunks": b"2", b"x-mock-error": b"503"})
    assert (options.chunks, options.latency_ms, options.error_status) == (2, 5, 503)
    assert request_options(settings, {}).chunks == 4


@pytest.mark.parametrize(
    "header", [{b"x-mock-chunks": b"0"}, {b"x-mock-latency-ms": b"soon"}, {b"x-mock-error": b"200"}]
)
def test_invalid_headers_are_refused(header: dict[bytes, bytes]) -> None:
    with pytest.raises(BadOption):
        request_options(Settings(), header)


def test_error_injection_is_reproducible_from_its_seed() -> None:
    one, two = ErrorInjector(0.3, seed=42), ErrorInjector(0.3, seed=42)
    draws = [one.should_fail() for _ in range(200)]
    assert draws == [two.should_fail() for _ in range(200)]
    assert 20 < sum(draws) < 100
    assert draws != [ErrorInjector(0.3, seed=43).should_fail() for _ in range(200)]
    never = ErrorInjector(0.0, seed=1)
    assert not any(never.should_fail() for _ in range(100))
