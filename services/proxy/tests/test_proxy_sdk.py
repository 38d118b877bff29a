"""The proxy end to end through the official SDKs: real NATS, a real upstream HTTP server, real uvicorn.

The signing key, grants and credentials are published by the test as auth and
keyvault would publish them; the seal responder implements the documented box.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tollgate_contracts import ApiKeyState, ApiKeyStatus, Capability, GrantStatus, TokenRevoked, utcnow
from tollgate_proxy.settings import Settings
from tollgate_servicekit.testing import eventually

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello"}]
PROMPT_TOKENS = len("Say hello")  # the stub counts one token per character


async def test_openai_chat_goes_through_with_the_provider_key_injected(stack: Any) -> None:
    raw = await stack.openai().chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    completion = raw.parse()
    assert completion.choices[0].message.content == stack.REPLY
    seen = stack.provider.seen[-1]
    assert seen["headers"]["Authorization"] == f"Bearer {stack.OPENAI_KEY}"
    assert "x-api-key" not in {name.lower() for name in seen["headers"]}
    request_id = raw.headers["x-tollgate-request-id"]

    ((record, headers),) = await stack.usage_records(1)
    assert headers["Nats-Msg-Id"] == request_id == record.request_id
    assert (record.grant_id, record.tenant_id, record.provider, record.model) == (
        stack.OPENAI_GRANT,
        stack.TENANT,
        "openai",
        "gpt-4o-mini",
    )
    assert (record.input_tokens, record.output_tokens, record.estimated) == (PROMPT_TOKENS, 4, False)
    assert (record.capability, record.streamed, record.status_code) == (Capability.CHAT, False, 200)


async def test_openai_stream_arrives_whole_and_hides_the_usage_chunk_nobody_asked_for(stack: Any) -> None:
    stream = await stack.openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == stack.REPLY
    assert all(chunk.choices for chunk in chunks), "the usage chunk reached a client that did not ask for it"
    assert stack.provider.seen[-1]["body"]["stream_options"] == {"include_usage": True}

    ((record, _),) = await stack.usage_records(1)
    assert (record.input_tokens, record.output_tokens, record.estimated, record.streamed) == (
        PROMPT_TOKENS,
        4,
        False,
        True,
    )


async def test_openai_stream_keeps_the_usage_chunk_for_a_client_that_asked(stack: Any) -> None:
    stream = await stack.openai().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    usage_chunks = [c for c in chunks if not c.choices]
    assert len(usage_chunks) == 1
    assert usage_chunks[0].usage is not None
    assert (usage_chunks[0].usage.prompt_tokens, usage_chunks[0].usage.completion_tokens) == (PROMPT_TOKENS, 4)
    ((record, _),) = await stack.usage_records(1)
    assert (record.input_tokens, record.output_tokens) == (PROMPT_TOKENS, 4)


async def test_anthropic_messages_go_through_with_x_api_key_and_version(stack: Any) -> None:
    client = stack.anthropic()
    message = await client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, messages=MESSAGES)
    assert message.content[0].text == stack.REPLY
    seen = stack.provider.seen[-1]["headers"]
    assert seen["x-api-key"] == stack.ANTHROPIC_KEY
    assert seen["anthropic-version"] == client.default_headers["anthropic-version"]  # passed through as sent
    assert "Authorization" not in seen

    async with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=64, messages=MESSAGES) as stream:
        text = "".join([piece async for piece in stream.text_stream])
    assert text == stack.REPLY

    records = await stack.usage_records(2)
    assert [(r.input_tokens, r.output_tokens, r.streamed, r.estimated) for r, _ in records] == [
        (PROMPT_TOKENS, 4, False, False),
        (PROMPT_TOKENS, 4, True, False),
    ]
    assert {r.capability for r, _ in records} == {Capability.MESSAGES}


async def test_a_bad_token_raises_authentication_error_in_both_sdks(stack: Any, new_signer: Any) -> None:
    forged = new_signer(kid=stack.signer.kid).token(stack.OPENAI_GRANT, stack.TENANT)
    with pytest.raises(openai.AuthenticationError) as caught:
        await stack.openai(forged).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.code == "invalid_credential"
    with pytest.raises(anthropic.AuthenticationError) as refused:
        await stack.anthropic("not-a-token").messages.create(
            model="claude-3-5-haiku-latest", max_tokens=8, messages=MESSAGES
        )
    assert refused.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    expired = stack.token(exp=int(utcnow().timestamp()) - 120, iat=int(utcnow().timestamp()) - 600)
    with pytest.raises(openai.AuthenticationError) as late:
        await stack.openai(expired).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert late.value.code == "token_expired"
    assert stack.provider.seen == []


async def test_a_model_outside_the_grant_raises_permission_denied_in_both_sdks(stack: Any) -> None:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        await stack.openai().chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert caught.value.code == "model_not_allowed"
    with pytest.raises(anthropic.PermissionDeniedError):
        await stack.anthropic().messages.create(model="claude-opus-4", max_tokens=8, messages=MESSAGES)
    with pytest.raises(anthropic.PermissionDeniedError):  # an OpenAI-only grant may not call /v1/messages
        await stack.anthropic(stack.token()).messages.create(model="gpt-4o-mini", max_tokens=8, messages=MESSAGES)
    assert stack.provider.seen == []


async def test_revoking_the_grant_refuses_the_very_next_call(stack: Any) -> None:
    client = stack.openai()
    await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    revoked = stack.grant(
        grant_id=stack.OPENAI_GRANT,
        state_version=2,
        status=GrantStatus.REVOKED,
        revoked_at=utcnow(),
        models=("gpt-4o-mini",),
        capabilities=(Capability.CHAT,),
    )
    await stack.publish(revoked)
    cache = stack.app.runtime.cache
    await eventually(lambda: cache.grants[stack.OPENAI_GRANT].state_version == 2, what="the revocation")
    with pytest.raises(openai.PermissionDeniedError) as caught:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.code == "grant_revoked"
    assert len(stack.provider.seen) == 1


async def test_a_revoked_token_is_refused_while_the_grant_still_works(stack: Any) -> None:
    claims = stack.signer.claims(stack.OPENAI_GRANT, stack.TENANT)
    token = stack.signer.sign(claims)
    await stack.openai(token).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    await stack.publish(
        TokenRevoked(
            producer="auth",
            state_version=1,
            jti=claims["jti"],
            grant_id=stack.OPENAI_GRANT,
            expires_at=utcnow() + timedelta(minutes=15),
        )
    )
    cache = stack.app.runtime.cache
    await eventually(lambda: claims["jti"] in cache.revoked, what="the token revocation")
    with pytest.raises(openai.AuthenticationError) as caught:
        await stack.openai(token).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.code == "token_revoked"
    await stack.openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


async def test_an_api_key_is_accepted_by_its_hash(stack: Any) -> None:
    key = "tg_" + "a1" * 20
    await stack.publish(
        ApiKeyState(
            producer="auth",
            state_version=1,
            key_hash=hashlib.sha256(key.encode()).hexdigest(),
            key_prefix=key[:7],
            grant_id=stack.OPENAI_GRANT,
            tenant_id=stack.TENANT,
            status=ApiKeyStatus.ACTIVE,
        )
    )
    await eventually(lambda: len(stack.app.runtime.cache.api_keys) == 1, what="the API key")
    completion = await stack.openai(key).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == stack.REPLY
    with pytest.raises(openai.AuthenticationError):
        await stack.openai("tg_" + "b2" * 20).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


async def test_embeddings_and_the_model_list_narrowed_to_the_grant(stack: Any) -> None:
    client = stack.openai()
    result = await client.embeddings.create(model="text-embedding-3-small", input=["abcd", "efgh"])
    assert [e.embedding for e in result.data] == [[0.25, 0.5, 0.75]] * 2
    models = await client.models.list()
    assert sorted(m.id for m in models.data) == ["gpt-4o-mini", "text-embedding-3-small"]
    ((record, _),) = await stack.usage_records(1)
    assert (record.capability, record.input_tokens, record.output_tokens) == (Capability.EMBEDDINGS, 8, 0)


async def test_the_provider_key_is_fetched_sealed_once_and_then_cached(stack: Any) -> None:
    client = stack.openai()
    calls = [client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES) for _ in range(8)]
    await asyncio.gather(*calls)  # concurrent misses share one round trip
    await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    requests = [r for r in stack.keyvault.requests if r.credential_id == "crd_openai"]
    assert len(requests) == 1
    assert requests[0].recipient_public_key == stack.app.runtime.sealed_keys.public_key
    assert requests[0].requester == "prx_test"


async def test_a_provider_error_is_passed_on_in_the_providers_own_shape(stack: Any) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await stack.openai().chat.completions.create(model="stub-400", messages=MESSAGES)
    assert caught.value.code == "stub_no"
    assert caught.value.message.endswith("stub refuses") or "stub refuses" in str(caught.value)


async def test_a_body_over_the_limit_is_refused_with_413(stack: Any) -> None:
    huge = [{"role": "user", "content": "x" * (70 * 1024)}]
    with pytest.raises(openai.APIStatusError) as caught:
        await stack.openai().chat.completions.create(model="gpt-4o-mini", messages=huge)
    assert caught.value.status_code == 413
    # A declared length alone decides: the proxy answers before a byte of such a body is sent.
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
    head = (
        f"POST /v1/messages HTTP/1.1\r\nhost: proxy\r\nx-api-key: {stack.token(stack.ANTHROPIC_GRANT)}\r\n"
        f"content-type: application/json\r\ncontent-length: {10**9}\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    status_line = await reader.readline()
    response = await reader.read(4096)
    writer.close()
    await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 413")
    assert b'"request_too_large"' in response
    assert stack.provider.seen == []


async def test_a_body_without_a_length_is_cut_off_at_the_limit_while_it_is_read(stack: Any) -> None:
    async def endless_body() -> Any:
        for _ in range(20):  # 160 KiB, chunked: no Content-Length to judge by
            yield b"x" * 8192

    async with httpx.AsyncClient(base_url=stack.url) as http:
        response = await http.post(
            "/v1/chat/completions", headers={"authorization": f"Bearer {stack.token()}"}, content=endless_body()
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


async def test_a_json_answer_the_provider_breaks_off_cuts_the_connection(stack: Any) -> None:
    with pytest.raises(openai.APIConnectionError):
        await stack.openai().chat.completions.create(model="stub-broken-json", messages=MESSAGES)
    ((record, _),) = await stack.usage_records(1)
    assert record.estimated is True


async def test_no_credential_is_a_401_with_a_clear_message(stack: Any) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as http:
        response = await http.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES})
        assert response.status_code == 401
        assert "Authorization: Bearer" in response.json()["error"]["message"]
        anthropic_shaped = await http.post("/v1/messages", json={})
        assert anthropic_shaped.json()["type"] == "error"
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert (await http.get("/readyz")).json() == {"status": "ready"}
        assert (await http.get("/v1/chat/completions")).status_code == 405
        assert (await http.get("/nowhere")).status_code == 404


async def test_a_stream_the_provider_breaks_off_ends_with_an_error_and_an_estimate(stack: Any) -> None:
    stream = await stack.openai().chat.completions.create(model="stub-broken", messages=MESSAGES, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIError):
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "Hello from"
    ((record, _),) = await stack.usage_records(1)
    assert record.estimated is True
    assert record.output_tokens == 2


async def test_a_client_leaving_mid_stream_stops_the_provider_and_is_metered_by_estimate(stack: Any) -> None:
    stream = await stack.openai().chat.completions.create(model="stub-endless", messages=MESSAGES, stream=True)
    seen = 0
    async for _ in stream:
        seen += 1
        if seen == 6:
            break
    await stream.close()
    await eventually(stack.provider.hung_up.is_set, what="the provider to see the hang-up")
    ((record, _),) = await stack.usage_records(1)
    assert record.estimated is True
    assert record.output_tokens >= 6
    assert record.streamed is True


async def test_budget_exhaustion_is_a_429_the_sdk_does_not_retry(stack: Any) -> None:
    from tollgate_contracts import BudgetState

    await stack.publish(
        BudgetState(
            producer="metering",
            state_version=1,
            grant_id=stack.OPENAI_GRANT,
            spent_micro_usd=5,
            requests=1,
            exhausted=True,
        )
    )
    await eventually(lambda: stack.OPENAI_GRANT in stack.app.runtime.cache.budgets, what="the budget state")
    with pytest.raises(openai.RateLimitError) as caught:
        await stack.openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.code == "budget_exhausted"
    assert caught.value.response.headers["x-should-retry"] == "false"


async def test_no_credential_for_the_provider_is_a_503(stack: Any) -> None:
    await stack.publish(
        stack.grant(grant_id="grt_custom", provider="custom", models=("*",), capabilities=(Capability.CHAT,))
    )
    await eventually(lambda: "grt_custom" in stack.app.runtime.cache.grants, what="the grant")
    async with httpx.AsyncClient(base_url=stack.url) as http:
        response = await http.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {stack.token('grt_custom')}"},
            content=json.dumps({"model": "m", "messages": MESSAGES}),
        )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "credential_not_found"


async def test_an_unreachable_provider_is_a_502(stack: Any) -> None:
    await stack.openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    await stack.publish(stack.credential(credential_id="crd_openai", state_version=2, base_url="http://127.0.0.1:9"))
    cache = stack.app.runtime.cache
    await eventually(lambda: cache.credentials["crd_openai"].state_version == 2, what="the credential change")
    stack.keyvault.keys["crd_openai"] = (stack.OPENAI_KEY, 2)
    with pytest.raises(openai.InternalServerError) as caught:
        await stack.openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.status_code == 502
    assert caught.value.code == "upstream_error"
    assert len(stack.keyvault.requests) == 2  # the changed credential's key was fetched anew


async def test_a_provider_that_stays_silent_is_a_504(bare_stack: Any) -> None:
    await bare_stack.populate()
    await bare_stack.start_proxy(upstream_timeout_seconds=0.2)
    with pytest.raises(openai.APIStatusError) as caught:
        await bare_stack.openai().chat.completions.create(model="stub-slow", messages=MESSAGES)
    assert caught.value.status_code == 504
    assert caught.value.code == "upstream_timeout"


async def test_a_credential_pointing_at_a_loopback_port_not_allow_listed_is_refused_and_reaches_nothing(
    stack: Any,
) -> None:
    accepted: list[int] = []

    async def listen(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()

    server = await asyncio.start_server(listen, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        base_url = f"http://127.0.0.1:{port}"
        await stack.publish(stack.credential(credential_id="crd_openai", state_version=2, base_url=base_url))
        cache = stack.app.runtime.cache
        await eventually(lambda: cache.credentials["crd_openai"].state_version == 2, what="the credential change")
        stack.keyvault.keys["crd_openai"] = (stack.OPENAI_KEY, 2)
        with pytest.raises(openai.InternalServerError) as caught:
            await stack.openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert caught.value.status_code == 502 and caught.value.code == "upstream_error"
        assert caught.value.response.headers["x-should-retry"] == "false"
        text = caught.value.response.text
        assert "address is refused" in text and str(port) not in text and stack.OPENAI_KEY not in text
        assert accepted == []
    finally:
        server.close()


def test_the_egress_allow_list_comes_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_PROXY_EGRESS_ALLOW", "127.0.0.1:8090, mock.test:443,")
    assert Settings().egress_allow == ["127.0.0.1:8090", "mock.test:443"]
    monkeypatch.delenv("TOLLGATE_PROXY_EGRESS_ALLOW")
    assert Settings().egress_allow == []
