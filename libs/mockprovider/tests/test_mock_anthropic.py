"""The Anthropic side of the mock, driven with the official `anthropic` SDK against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam

from tollgate_mockprovider.testing import MockProviderServer
from tollgate_mockprovider.tokens import reply_text

from .conftest import API_KEY

SYSTEM = "You are terse."
MESSAGES: list[MessageParam] = [{"role": "user", "content": "Say hello to the tests"}]
INPUT_TOKENS = (3 + 3) + (5 + 3)
EVENT_ORDER = ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta"]


@pytest.fixture
def client(mock_server: MockProviderServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=mock_server.base_url, api_key=API_KEY, max_retries=0) as client:
        yield client


def test_message_reports_deterministic_usage(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="claude-anything", max_tokens=100, system=SYSTEM, messages=MESSAGES)
    assert message.model == "claude-anything"
    assert message.content[0].type == "text"
    assert message.content[0].text == reply_text(8)
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (INPUT_TOKENS, 8)


def test_stream_follows_the_real_event_sequence(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="claude-anything",
        max_tokens=100,
        system=SYSTEM,
        messages=MESSAGES,
        extra_headers={"x-mock-chunks": "3"},
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    raw_types = [event.type for event in events if event.type not in ("text", "ping")]
    collapsed = [t for i, t in enumerate(raw_types) if i == 0 or t != raw_types[i - 1]]
    assert collapsed == [*EVENT_ORDER, "message_stop"]
    start = next(event for event in events if event.type == "message_start")
    assert start.message.usage.input_tokens == INPUT_TOKENS
    delta = next(event for event in events if event.type == "message_delta")
    assert delta.usage.output_tokens == 3
    assert final.content[0].type == "text"
    assert final.content[0].text == reply_text(3)
    assert (final.usage.input_tokens, final.usage.output_tokens) == (INPUT_TOKENS, 3)


def test_max_tokens_cuts_the_reply(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="c", max_tokens=2, messages=MESSAGES)
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 2


def test_paced_stream_delivers_the_same_text(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="c",
        max_tokens=50,
        messages=MESSAGES,
        extra_headers={"x-mock-chunk-delay-ms": "1"},
    ) as stream:
        assert "".join(stream.text_stream) == reply_text(8)


def test_wrong_key_raises_authentication_error(mock_server: MockProviderServer) -> None:
    with (
        anthropic.Anthropic(base_url=mock_server.base_url, api_key="sk-ant-wrong", max_retries=0) as bad,
        pytest.raises(anthropic.AuthenticationError) as caught,
    ):
        bad.messages.create(model="c", max_tokens=10, messages=MESSAGES)
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        "request_id": caught.value.request_id,
    }


@pytest.mark.parametrize("header", ["x-api-key", "authorization"])
def test_key_is_accepted_from_either_header(mock_server: MockProviderServer, header: str) -> None:
    value = API_KEY if header == "x-api-key" else f"Bearer {API_KEY}"
    body = {"model": "c", "max_tokens": 5, "messages": MESSAGES}
    response = httpx.post(f"{mock_server.base_url}/v1/messages", json=body, headers={header: value})
    assert response.status_code == 200
    assert response.headers["request-id"].startswith("req_")


def test_missing_max_tokens_is_400_in_anthropic_shape(mock_server: MockProviderServer) -> None:
    body = {"model": "c", "messages": MESSAGES}
    response = httpx.post(f"{mock_server.base_url}/v1/messages", json=body, headers={"x-api-key": API_KEY})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_malformed_json_is_400_in_anthropic_shape(mock_server: MockProviderServer) -> None:
    response = httpx.post(f"{mock_server.base_url}/v1/messages", content=b"[1,", headers={"x-api-key": API_KEY})
    assert response.status_code == 400
    assert response.json()["type"] == "error"


@pytest.mark.parametrize(
    ("status", "error"),
    [(529, anthropic.OverloadedError), (500, anthropic.InternalServerError), (429, anthropic.RateLimitError)],
)
def test_requested_error_status_raises_the_sdk_exception(
    client: anthropic.Anthropic, status: int, error: type[anthropic.APIStatusError]
) -> None:
    with pytest.raises(error) as caught:
        client.messages.create(model="c", max_tokens=5, messages=MESSAGES, extra_headers={"x-mock-error": str(status)})
    assert caught.value.status_code == status


def test_models_list_in_anthropic_shape(client: anthropic.Anthropic) -> None:
    assert "claude-sonnet-4-5" in [model.id for model in client.models.list()]
