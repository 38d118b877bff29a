"""Grants' rpm and tpm enforced by the real proxy, as the official SDKs see it (retries off: `max_retries=0`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import anthropic
import openai
import pytest

from tollgate_contracts import Capability
from tollgate_servicekit.testing import eventually

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello"}]
CALL_TOKENS = len("Say hello") + 4  # the stub: one token per prompt character, four reply words


async def limited_grant(stack: Any, grant_id: str, **changes: Any) -> None:
    fields: dict[str, Any] = {
        "grant_id": grant_id,
        "models": ("gpt-4o-mini",),
        "capabilities": (Capability.CHAT,),
    }
    fields.update(changes)
    await stack.publish(stack.grant(**fields))
    await eventually(lambda: grant_id in stack.app.runtime.cache.grants, what=f"grant {grant_id}")


async def test_the_call_past_the_grants_rpm_raises_rate_limit_error_with_retry_after(stack: Any) -> None:
    await limited_grant(stack, "grt_rpm", rpm=3)
    client = stack.openai(stack.token("grt_rpm"))
    remaining = []
    for _ in range(3):
        raw = await client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
        assert raw.parse().choices[0].message.content == stack.REPLY
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
        remaining.append(raw.headers["x-ratelimit-remaining-requests"])
        assert "x-ratelimit-limit-tokens" not in raw.headers  # the grant has no tpm
    assert remaining == ["2", "1", "0"]

    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.type == "requests"
    headers = caught.value.response.headers
    assert int(headers["retry-after"]) >= 1
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert len(stack.provider.seen) == 3  # the refused call never reached the provider


async def test_a_grant_whose_tokens_are_spent_is_refused_until_its_window_drains(stack: Any) -> None:
    tpm = 10
    assert tpm < CALL_TOKENS  # one call spends more than a minute's worth: the next is refused
    await limited_grant(stack, "grt_tpm", tpm=tpm)
    client = stack.openai(stack.token("grt_tpm"))
    raw = await client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.headers["x-ratelimit-limit-tokens"] == str(tpm)
    assert raw.headers["x-ratelimit-remaining-tokens"] == str(tpm)  # nothing spent before this call
    limiter = stack.app.runtime.limiter

    def spent() -> bool:
        tokens = limiter.status("grt_tpm", None, tpm, time.monotonic()).tokens
        return tokens is not None and tokens.remaining == 0

    await eventually(spent, what="the call's tokens to be counted")

    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert (caught.value.code, caught.value.type) == ("rate_limit_exceeded", "tokens")
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert caught.value.response.headers["x-ratelimit-remaining-tokens"] == "0"
    assert len(stack.provider.seen) == 1


async def test_the_anthropic_route_refuses_in_anthropics_shape_with_its_own_headers(stack: Any) -> None:
    await limited_grant(
        stack,
        "grt_ant_rpm",
        provider="anthropic",
        models=("claude-3-5-haiku-*",),
        capabilities=(Capability.MESSAGES,),
        rpm=1,
        tpm=1000,
    )
    client = stack.anthropic(stack.token("grt_ant_rpm"))
    raw = await client.messages.with_raw_response.create(
        model="claude-3-5-haiku-latest", max_tokens=8, messages=MESSAGES
    )
    assert (await raw.parse()).content[0].text == stack.REPLY  # type: ignore[union-attr]
    assert raw.headers["anthropic-ratelimit-requests-limit"] == "1"
    assert raw.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert raw.headers["anthropic-ratelimit-tokens-limit"] == "1000"
    reset = datetime.fromisoformat(raw.headers["anthropic-ratelimit-requests-reset"])
    assert reset.tzinfo is not None
    assert reset > datetime.now(UTC)

    with pytest.raises(anthropic.RateLimitError) as caught:
        await client.messages.create(model="claude-3-5-haiku-latest", max_tokens=8, messages=MESSAGES)
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert caught.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"


async def test_other_refusals_of_a_limited_grant_carry_its_headers_too(stack: Any) -> None:
    await limited_grant(stack, "grt_rpm_403", rpm=5)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        await stack.openai(stack.token("grt_rpm_403")).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert caught.value.response.headers["x-ratelimit-remaining-requests"] == "5"  # a refusal counts nothing


async def test_a_grant_without_limits_gets_no_rate_limit_headers(stack: Any) -> None:
    raw = await stack.openai().chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert not [name for name in raw.headers if name.startswith("x-ratelimit")]
