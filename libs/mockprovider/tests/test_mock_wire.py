"""The hand-spliced JSON of the hot paths is valid JSON, whatever the model name holds."""

from __future__ import annotations

import json

import pytest

from tollgate_mockprovider import Settings, anthropic_api, openai_api
from tollgate_mockprovider.options import default_options
from tollgate_mockprovider.wire import Ident, JsonReply, StreamReply

MODEL = 'odd "model" \\ naïve ✓'
MESSAGES = [{"role": "user", "content": "one two three"}]
IDENT = Ident("0123abcd", 1_700_000_000)


def _events(reply: StreamReply) -> list[str]:
    text = (reply.head + b"".join(reply.chunks) + reply.tail).decode()
    return [event for event in text.split("\n\n") if event]


def test_completion_body_is_valid_json_with_the_model_name_intact() -> None:
    reply = openai_api.chat_completions({"model": MODEL, "messages": MESSAGES}, default_options(Settings()), IDENT)
    assert isinstance(reply, JsonReply)
    body = json.loads(reply.body)
    assert body["model"] == MODEL
    assert body["id"] == "chatcmpl-0123abcd"
    assert body["usage"] == {
        "prompt_tokens": 6,
        "completion_tokens": 8,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


@pytest.mark.parametrize("include_usage", [True, False])
def test_every_chat_stream_event_is_valid_json(include_usage: bool) -> None:
    body = {"model": MODEL, "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": include_usage}}
    reply = openai_api.chat_completions(body, default_options(Settings()), IDENT)
    assert isinstance(reply, StreamReply)
    events = _events(reply)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    assert all(chunk["model"] == MODEL for chunk in chunks)
    assert ("usage" in chunks[-1] and chunks[-1]["choices"] == []) is include_usage


def test_every_messages_stream_event_is_valid_json_and_named_by_its_type() -> None:
    body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 100, "stream": True}
    reply = anthropic_api.messages(body, default_options(Settings()), IDENT)
    assert isinstance(reply, StreamReply)
    for event in _events(reply):
        name_line, data_line = event.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert name_line == f"event: {data['type']}"
