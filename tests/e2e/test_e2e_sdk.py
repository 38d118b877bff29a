"""The request path end to end: CLI → auth → bus → proxy → mock provider → bus → metering, with the official SDKs."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import pytest

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli, Sdk, eventually_sync

pytestmark = pytest.mark.e2e

PROMPT = [{"role": "user", "content": "Count the words in this short sentence please"}]


def grant_and_token(cli: Cli, handed_out: dict[str, str], provider: str, *models: str) -> tuple[str, str]:
    model_args = [arg for model in models for arg in ("--model", model)]
    grant = cli.json("grant", "create", "--provider", provider, *model_args, "--budget-usd", "5", "--expires-in", "1h")
    assert grant["status"] == "active"
    token = cli.json("token", "mint", grant["id"], "--ttl", "15m")
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 900
    handed_out[f"token for {grant['id']}"] = token["access_token"]
    return grant["id"], token["access_token"]


def usage_when(stack: Stack, cli: Cli, grant_id: str, requests: int) -> dict[str, Any]:
    """The grant's usage per `tollgate usage`, once metering has counted `requests` (it records asynchronously)."""
    headers = {"Authorization": f"Bearer {stack.admin_key}"}
    url = f"{stack.metering_url}/v1/usage/{grant_id}"

    def counted() -> bool:
        answer = http.get(url)
        return answer.status_code == 200 and answer.json()["requests"] >= requests

    with httpx.Client(headers=headers, timeout=10) as http:
        eventually_sync(counted, what=f"metering to count {requests} request(s) for {grant_id}")
    usage: dict[str, Any] = cli.json("usage", grant_id)
    assert usage["requests"] == requests, usage
    return usage


def test_openai_calls_are_metered_exactly_and_stop_at_revocation(
    e2e_stack: Stack, sdk: Sdk, cli: Cli, handed_out: dict[str, str]
) -> None:
    grant_id, token = grant_and_token(cli, handed_out, "openai", "gpt-4o-mini")
    client = sdk.openai(token)

    reply = client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    assert reply.choices[0].message.content
    assert reply.usage is not None

    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=PROMPT,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == reply.choices[0].message.content
    streamed_usage = chunks[-1].usage
    assert streamed_usage is not None

    # A stream that did not ask for usage still gets metered, without the usage chunk being shown to it.
    quiet = list(client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, stream=True))
    assert all(c.usage is None for c in quiet)
    assert all(c.choices for c in quiet)

    usage = usage_when(e2e_stack, cli, grant_id, 3)
    assert usage["input_tokens"] == reply.usage.prompt_tokens + 2 * streamed_usage.prompt_tokens
    assert usage["output_tokens"] == reply.usage.completion_tokens + 2 * streamed_usage.completion_tokens
    assert streamed_usage.prompt_tokens == reply.usage.prompt_tokens

    revoked = cli.json("grant", "revoke", grant_id)
    assert revoked["status"] == "revoked"
    with pytest.raises((openai.AuthenticationError, openai.PermissionDeniedError)):
        client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    assert cli.json("usage", grant_id)["requests"] == 3


def test_anthropic_messages_are_metered_exactly_and_stop_at_revocation(
    e2e_stack: Stack, sdk: Sdk, cli: Cli, handed_out: dict[str, str]
) -> None:
    grant_id, token = grant_and_token(cli, handed_out, "anthropic", "claude-*")
    client = sdk.anthropic(token)

    message = client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=PROMPT)
    assert message.content[0].type == "text"
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=PROMPT) as stream:
        streamed_text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed_text == message.content[0].text

    usage = usage_when(e2e_stack, cli, grant_id, 2)
    assert usage["input_tokens"] == message.usage.input_tokens + final.usage.input_tokens
    assert usage["output_tokens"] == message.usage.output_tokens + final.usage.output_tokens

    cli.json("grant", "revoke", grant_id)
    with pytest.raises((anthropic.AuthenticationError, anthropic.PermissionDeniedError)):
        client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=PROMPT)


def test_a_model_outside_the_allowlist_is_refused(
    e2e_stack: Stack, sdk: Sdk, cli: Cli, handed_out: dict[str, str]
) -> None:
    grant_id, token = grant_and_token(cli, handed_out, "openai", "gpt-4o-mini")
    with pytest.raises(openai.PermissionDeniedError):
        sdk.openai(token).chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert usage_when(e2e_stack, cli, grant_id, 0)["requests"] == 0


def test_an_api_key_works_like_a_token(e2e_stack: Stack, sdk: Sdk, cli: Cli, handed_out: dict[str, str]) -> None:
    grant_id, _ = grant_and_token(cli, handed_out, "openai", "gpt-4o-mini")
    created = httpx.post(
        f"{e2e_stack.auth_url}/v1/grants/{grant_id}/api-keys",
        headers={"Authorization": f"Bearer {e2e_stack.admin_key}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    api_key = created.json()["api_key"]
    handed_out[f"API key for {grant_id}"] = api_key

    reply = sdk.openai(api_key).chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
    assert reply.usage is not None
    usage = usage_when(e2e_stack, cli, grant_id, 1)
    assert usage["input_tokens"] == reply.usage.prompt_tokens


def test_a_provider_added_with_the_cli_serves_a_grant_for_it(
    e2e_stack: Stack, sdk: Sdk, cli: Cli, handed_out: dict[str, str]
) -> None:
    credential = cli.json(
        "credential",
        "add",
        "--provider",
        "mockcompat",
        "--api-key-stdin",
        "--base-url",
        e2e_stack.mock_url,
        stdin=e2e_stack.mock_key + "\n",
    )
    assert credential["provider"] == "mockcompat"
    assert credential["last4"] == e2e_stack.mock_key[-4:]
    listed = cli.json("credential", "list")["data"]
    assert credential["id"] in {c["id"] for c in listed}

    grant_id, token = grant_and_token(cli, handed_out, "mockcompat", "*")
    reply = sdk.openai(token).chat.completions.create(model="any-model", messages=PROMPT)
    assert reply.usage is not None
    assert usage_when(e2e_stack, cli, grant_id, 1)["output_tokens"] == reply.usage.completion_tokens
