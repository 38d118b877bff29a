"""The OpenAI side of the mock, driven with the official `openai` SDK against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tollgate_mockprovider.testing import MockProviderServer
from tollgate_mockprovider.tokens import reply_text

from .conftest import API_KEY

MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello to the tests"},
]
PROMPT_TOKENS = (3 + 3) + (5 + 3)


@pytest.fixture
def client(mock_server: MockProviderServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=mock_server.openai_base_url, api_key=API_KEY, max_retries=0) as client:
        yield client


def test_chat_completion_reports_deterministic_usage(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="any-model-at-all", messages=MESSAGES)
    assert completion.model == "any-model-at-all"
    assert completion.choices[0].message.content == reply_text(8)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (PROMPT_TOKENS, 8)
    assert completion.usage.total_tokens == PROMPT_TOKENS + 8
    assert completion.id.startswith("chatcmpl-")


def test_stream_without_include_usage_carries_no_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == reply_text(8)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len(chunks) == 1 + 8 + 1  # role, one per word, finish


def test_stream_with_include_usage_ends_with_a_usage_only_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-mock-chunks": "3"},
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (
        PROMPT_TOKENS,
        3,
        PROMPT_TOKENS + 3,
    )
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == reply_text(3)


def test_max_tokens_cuts_the_reply_with_finish_reason_length(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="m", messages=MESSAGES, max_completion_tokens=2)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 2


def test_paced_stream_delivers_the_same_text(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m",
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-mock-chunk-delay-ms": "1", "x-mock-latency-ms": "1"},
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == reply_text(8)


def test_cut_stream_stops_before_finish_and_done(mock_server: MockProviderServer) -> None:
    body = {"model": "m", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    headers = {"authorization": f"Bearer {API_KEY}", "x-mock-stream-cut-after": "2"}
    response = httpx.post(f"{mock_server.openai_base_url}/chat/completions", json=body, headers=headers)
    events = [line for line in response.text.split("\n\n") if line]
    assert len(events) == 1 + 2
    assert "[DONE]" not in response.text
    assert '"finish_reason":"stop"' not in response.text


def test_embeddings_are_deterministic_and_counted(client: openai.OpenAI) -> None:
    first = client.embeddings.create(model="text-embedding-3-small", input=["hello world", "three words here"])
    again = client.embeddings.create(model="text-embedding-3-small", input="hello world", encoding_format="float")
    assert [len(item.embedding) for item in first.data] == [16, 16]
    assert first.data[0].embedding == pytest.approx(again.data[0].embedding, rel=1e-6)
    assert first.data[0].embedding != first.data[1].embedding
    assert (first.usage.prompt_tokens, first.usage.total_tokens) == (5, 5)
    sized = client.embeddings.create(model="e", input="x", dimensions=4)
    assert len(sized.data[0].embedding) == 4


def test_models_are_listed(client: openai.OpenAI) -> None:
    assert "gpt-4o-mini" in [model.id for model in client.models.list()]


def test_wrong_key_raises_authentication_error(mock_server: MockProviderServer) -> None:
    bad = openai.OpenAI(base_url=mock_server.openai_base_url, api_key="sk-wrong", max_retries=0)
    with bad, pytest.raises(openai.AuthenticationError) as caught:
        bad.chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.code == "invalid_api_key"
    assert "sk-wrong" not in str(caught.value)


def test_missing_key_is_401(mock_server: MockProviderServer) -> None:
    response = httpx.get(f"{mock_server.openai_base_url}/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_malformed_json_is_400_in_openai_shape(mock_server: MockProviderServer) -> None:
    response = httpx.post(
        f"{mock_server.openai_base_url}/chat/completions",
        content=b"{not json",
        headers={"authorization": f"Bearer {API_KEY}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}


def test_stream_options_without_stream_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="m", messages=MESSAGES, stream_options={"include_usage": True})


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, openai.InternalServerError), (429, openai.RateLimitError), (403, openai.PermissionDeniedError)],
)
def test_requested_error_status_raises_the_sdk_exception(
    client: openai.OpenAI, status: int, error: type[openai.APIStatusError]
) -> None:
    with pytest.raises(error) as caught:
        client.chat.completions.create(model="m", messages=MESSAGES, extra_headers={"x-mock-error": str(status)})
    assert caught.value.status_code == status


async def test_async_client_streams_too(mock_server: MockProviderServer) -> None:
    client = openai.AsyncOpenAI(base_url=mock_server.openai_base_url, api_key=API_KEY, max_retries=0)
    async with client:
        stream = await client.chat.completions.create(
            model="m",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 8
