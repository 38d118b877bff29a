"""The request path through the fakes of `tollgate_proxy.testing`: the ASGI edge in memory, no socket, bus or server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tollgate_contracts import Capability, CredentialStatus, ErrorCode, GrantStatus
from tollgate_proxy.api.relay import UpstreamBroke
from tollgate_proxy.domain.errors import UpstreamFailed
from tollgate_proxy.testing import (
    PROVIDER_KEY,
    Answer,
    Harness,
    make_credential,
    make_grant,
)
from tollgate_proxy.testing.provider import (
    anthropic_events,
    anthropic_message,
    completion,
    openai_chunks,
)

CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "hi"}]


def chat(model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": MESSAGES, **extra}


@pytest.fixture
def harness() -> Harness:
    return Harness.build()


async def test_an_allowed_call_reaches_the_provider_with_its_key_and_is_recorded(harness: Harness) -> None:
    harness.upstream.reply(Answer.json(completion(prompt_tokens=9, completion_tokens=4)))
    token = harness.signer.token()
    answer = await harness.post(CHAT, chat(), credential=token)
    assert answer.status == 200
    assert answer.json()["choices"][0]["message"]["content"] == "Hello from the fake"
    (sent,) = harness.upstream.requests
    assert (sent.method, sent.url) == ("POST", "http://127.0.0.1:1/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert token not in json.dumps(sent.headers)
    assert sent.json() == chat()
    (record,) = harness.usage.records
    assert record.request_id == answer.headers["x-tollgate-request-id"]
    assert (record.grant_id, record.tenant_id, record.provider, record.model) == (
        "grt_1",
        "tnt_1",
        "openai",
        "gpt-4o-mini",
    )
    assert (record.input_tokens, record.output_tokens, record.estimated, record.streamed) == (9, 4, False, False)
    assert (record.capability, record.status_code, record.producer) == (Capability.CHAT, 200, "proxy/prx_test")
    assert record.started_at == harness.clock.now()


async def test_a_model_outside_the_grant_is_refused_before_anything_goes_upstream(harness: Harness) -> None:
    answer = await harness.post(CHAT, chat("gpt-4o"))
    assert answer.status == 403
    assert answer.json()["error"]["code"] == ErrorCode.MODEL_NOT_ALLOWED.value
    assert answer.json()["error"]["type"] == "permission_error"
    assert harness.upstream.requests == [] and harness.usage.records == [] and harness.keys.asked == []


async def test_a_revoked_grant_is_refused_on_the_next_request(harness: Harness) -> None:
    harness.upstream.default = Answer.json(completion())
    assert (await harness.post(CHAT, chat())).status == 200
    harness.policy.apply(make_grant(state_version=2, status=GrantStatus.REVOKED))
    answer = await harness.post(CHAT, chat())
    assert answer.status == 403
    assert answer.json()["error"]["code"] == ErrorCode.GRANT_REVOKED.value
    assert len(harness.upstream.requests) == 1


async def test_refusals_before_the_grant_is_known(harness: Harness) -> None:
    no_credential = await harness.post(CHAT, chat(), credential="")
    assert no_credential.status == 401 and "no credential" in no_credential.json()["error"]["message"]
    harness.readiness.reason = "the proxy has lost the policy bus"
    stale = await harness.post(CHAT, chat())
    assert (stale.status, stale.headers["retry-after"]) == (503, "5")
    assert stale.json()["error"]["code"] == ErrorCode.POLICY_STALE.value
    assert harness.upstream.requests == []


async def test_bodies_are_bounded_and_must_be_json_objects_naming_a_model() -> None:
    harness = Harness.build(max_body_bytes=100)
    too_big = await harness.request("POST", CHAT, [b"{" + b" " * 60, b" " * 60 + b"}"])
    assert too_big.status == 413 and too_big.json()["error"]["code"] == ErrorCode.BODY_TOO_LARGE.value
    for body in (b"not json", b"[1]", b'{"messages": []}'):
        refused = await harness.request("POST", CHAT, body)
        assert refused.status == 400, body
    assert harness.upstream.requests == []


async def test_rate_limit_headers_count_down_and_the_call_past_the_limit_is_429() -> None:
    harness = Harness.build()
    harness.policy.apply(make_grant(state_version=2, rpm=2))
    harness.upstream.default = Answer.json(completion())
    first = await harness.post(CHAT, chat())
    assert (first.headers["x-ratelimit-limit-requests"], first.headers["x-ratelimit-remaining-requests"]) == ("2", "1")
    assert (await harness.post(CHAT, chat())).headers["x-ratelimit-remaining-requests"] == "0"
    refused = await harness.post(CHAT, chat())
    assert refused.status == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["type"] == "requests"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert len(harness.upstream.requests) == 2
    harness.clock.advance(60)
    assert (await harness.post(CHAT, chat())).status == 200


async def test_tokens_used_count_against_the_grants_tpm_window() -> None:
    harness = Harness.build()
    harness.policy.apply(make_grant(state_version=2, tpm=10))
    harness.upstream.default = Answer.json(completion(prompt_tokens=9, completion_tokens=4))
    assert (await harness.post(CHAT, chat())).status == 200
    refused = await harness.post(CHAT, chat())
    assert refused.status == 429 and refused.json()["error"]["type"] == "tokens"
    harness.clock.advance(60)
    assert (await harness.post(CHAT, chat())).status == 200


async def test_an_openai_stream_is_recorded_from_the_usage_chunk_the_client_never_sees(harness: Harness) -> None:
    harness.upstream.reply(Answer.sse(openai_chunks(prompt_tokens=9)))
    answer = await harness.post(CHAT, chat(stream=True))
    assert answer.status == 200 and answer.complete
    assert harness.upstream.requests[0].json()["stream_options"] == {"include_usage": True}
    assert b'"usage"' not in answer.body and answer.body.endswith(b"data: [DONE]\n\n")
    (record,) = harness.usage.records
    assert (record.input_tokens, record.output_tokens, record.estimated, record.streamed) == (9, 4, False, True)


async def test_a_client_that_asked_for_the_usage_chunk_keeps_it(harness: Harness) -> None:
    harness.upstream.reply(Answer.sse(openai_chunks()))
    answer = await harness.post(CHAT, chat(stream=True, stream_options={"include_usage": True}))
    assert b'"usage"' in answer.body
    assert harness.usage.records[0].estimated is False


async def test_a_stream_the_provider_cuts_short_ends_with_an_error_event_and_an_estimate(harness: Harness) -> None:
    broken = UpstreamFailed("the provider could not be reached (ConnectionResetError)")
    harness.upstream.reply(Answer.sse(openai_chunks()[:2], broken=broken))
    answer = await harness.post(CHAT, chat(stream=True))
    assert answer.status == 200 and answer.complete
    last = answer.chunks[-1]
    assert last.startswith(b"data: ") and json.loads(last[6:])["error"]["code"] == ErrorCode.UPSTREAM_ERROR.value
    (record,) = harness.usage.records
    assert record.estimated and record.streamed and record.output_tokens > 0


async def test_a_client_leaving_mid_stream_closes_the_upstream_answer_and_is_metered_by_estimate(
    harness: Harness,
) -> None:
    harness.upstream.reply(Answer.sse(openai_chunks()[:2], hang=True))
    answer = await harness.post(CHAT, chat(stream=True), leave_after_chunks=2)
    assert not answer.complete and answer.broken is None
    assert harness.upstream.responses[0].closed
    (record,) = harness.usage.records
    assert record.estimated and record.streamed


async def test_anthropic_messages_are_recorded_from_message_start_and_message_delta() -> None:
    harness = Harness.build()
    grant = make_grant(
        grant_id="grt_a", provider="anthropic", models=("claude-*",), capabilities=(Capability.MESSAGES,)
    )
    harness.policy.apply(grant)
    harness.policy.apply(make_credential(credential_id="crd_a", provider="anthropic", api_style="anthropic"))
    harness.keys.keys["crd_a"] = "sk-ant-fake"
    harness.upstream.reply(Answer.sse(anthropic_events(input_tokens=7)), Answer.json(anthropic_message()))
    token = harness.signer.token("grt_a")
    body = {"model": "claude-3-5-haiku-latest", "max_tokens": 16, "messages": MESSAGES, "stream": True}
    streamed = await harness.post("/v1/messages", body, credential=token)
    assert streamed.status == 200 and b"message_stop" in streamed.body
    sent = harness.upstream.requests[0]
    assert sent.headers["x-api-key"] == "sk-ant-fake" and "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "stream_options" not in sent.json()
    await harness.post("/v1/messages", {**body, "stream": False}, credential=token)
    usage = [(r.input_tokens, r.output_tokens, r.estimated, r.capability) for r in harness.usage.records]
    assert usage == [(7, 4, False, Capability.MESSAGES), (9, 4, False, Capability.MESSAGES)]


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        (Answer.unreachable(), 502, ErrorCode.UPSTREAM_ERROR),
        (Answer.timed_out(), 504, ErrorCode.UPSTREAM_TIMEOUT),
    ],
)
async def test_an_upstream_that_fails_before_answering_is_a_5xx_in_the_routes_dialect(
    harness: Harness, answer: Answer, status: int, code: ErrorCode
) -> None:
    harness.upstream.reply(answer)
    openai_style = await harness.post(CHAT, chat())
    assert openai_style.status == status
    assert openai_style.json()["error"]["code"] == code.value
    assert "127.0.0.1" not in openai_style.body.decode() and PROVIDER_KEY not in openai_style.body.decode()
    assert harness.usage.records == []


async def test_an_anthropic_route_renders_an_upstream_timeout_in_anthropics_shape() -> None:
    harness = Harness.build()
    harness.policy.apply(
        make_grant(grant_id="grt_a", provider="anthropic", models=("claude-*",), capabilities=(Capability.MESSAGES,))
    )
    harness.policy.apply(make_credential(credential_id="crd_a", provider="anthropic", api_style="anthropic"))
    harness.keys.keys["crd_a"] = "sk-ant-fake"
    harness.upstream.reply(Answer.timed_out())
    body = {"model": "claude-3-5-haiku-latest", "max_tokens": 16, "messages": MESSAGES}
    answer = await harness.post("/v1/messages", body, credential=harness.signer.token("grt_a"))
    assert answer.status == 504
    assert answer.json()["type"] == "error" and answer.json()["error"]["type"] == "timeout_error"


async def test_a_provider_error_is_passed_on_in_the_providers_own_shape(harness: Harness) -> None:
    refusal = {"error": {"message": "stub refuses", "type": "invalid_request_error", "param": "model", "code": "no"}}
    harness.upstream.reply(Answer.json(refusal, status=400))
    answer = await harness.post(CHAT, chat())
    assert (answer.status, answer.json()) == (400, refusal)
    assert "x-tollgate-request-id" in answer.headers


async def test_a_json_answer_broken_off_mid_body_cuts_the_connection_and_is_estimated(harness: Harness) -> None:
    broken = UpstreamFailed("the provider could not be reached (ConnectionResetError)")
    harness.upstream.reply(Answer(chunks=[b'{"id": "chatcmpl-1", "choices": ['], broken=broken))
    answer = await harness.post(CHAT, chat())
    assert isinstance(answer.broken, UpstreamBroke) and not answer.complete
    assert harness.usage.records[0].estimated


async def test_no_provider_key_or_credential_is_a_503(harness: Harness) -> None:
    harness.keys.keys.clear()
    no_key = await harness.post(CHAT, chat())
    assert no_key.status == 503 and no_key.json()["error"]["code"] == ErrorCode.CREDENTIAL_NOT_FOUND.value
    harness.policy.apply(make_credential(state_version=2, status=CredentialStatus.DISABLED))
    no_credential = await harness.post(CHAT, chat())
    assert no_credential.status == 503
    assert "no active openai credential" in no_credential.json()["error"]["message"]
    assert harness.upstream.requests == []


async def test_the_model_list_is_narrowed_to_the_grant(harness: Harness) -> None:
    listing = {"object": "list", "data": [{"id": "gpt-4o-mini"}, {"id": "gpt-4o"}, {"id": "o1"}]}
    harness.upstream.reply(Answer.json(listing))
    answer = await harness.request("GET", "/v1/models")
    assert answer.status == 200 and [m["id"] for m in answer.json()["data"]] == ["gpt-4o-mini"]
    assert harness.upstream.requests[0].method == "GET" and harness.usage.records == []


async def test_unknown_routes_and_methods_and_the_health_endpoints(harness: Harness) -> None:
    assert (await harness.request("GET", "/v1/nope")).status == 404
    wrong = await harness.request("GET", "/v1/messages")
    assert wrong.status == 405 and wrong.json()["type"] == "error"
    assert (await harness.request("GET", "/healthz")).json() == {"status": "ok"}
    assert (await harness.request("GET", "/readyz")).status == 200
    harness.readiness.reason = "hydrating policy streams: TG_GRANTS"
    not_ready = await harness.request("GET", "/readyz")
    assert not_ready.status == 503 and "TG_GRANTS" in not_ready.json()["detail"]
