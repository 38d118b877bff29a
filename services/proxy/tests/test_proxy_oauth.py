"""The proxy as an OAuth protected resource, in memory: its metadata (RFC 9728), the challenges of its 401s, and
the access tokens it takes (RFC 9068 `at+jwt`, `aud` = its canonical URL, `client_id`)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import ValidationError

from tollgate_contracts import TOKEN_AUDIENCE, TOKEN_ISSUER
from tollgate_proxy.authenticator import Authenticator
from tollgate_proxy.domain.errors import CredentialRejected
from tollgate_proxy.policy_cache import PolicyCache
from tollgate_proxy.settings import Settings
from tollgate_proxy.testing import Answer, Exchange, Harness
from tollgate_proxy.testing.provider import completion

CHAT = "/v1/chat/completions"
METADATA = "/.well-known/oauth-protected-resource"
METADATA_URL = TOKEN_AUDIENCE + METADATA
OPENAI_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
ANTHROPIC_BODY = {"model": "claude-3-5-haiku-latest", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def harness() -> Harness:
    return Harness.build()


def challenges(answer: Exchange) -> list[str]:
    return [value.decode() for name, value in answer.raw_headers if name == b"www-authenticate"]


async def test_the_metadata_names_the_proxy_as_resource_and_auth_as_its_server(harness: Harness) -> None:
    answer = await harness.request("GET", METADATA, credential="")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "public, max-age=3600"
    document = answer.json()
    assert document["resource"] == TOKEN_AUDIENCE == "http://127.0.0.1:8080"
    assert document["authorization_servers"] == [TOKEN_ISSUER] == ["http://127.0.0.1:8081"]
    assert document["bearer_methods_supported"] == ["header"]
    assert {"ES256", "EdDSA", "RS256"} <= set(document["dpop_signing_alg_values_supported"])
    assert not {"none", "HS256"} & set(document["dpop_signing_alg_values_supported"])
    assert document["resource_name"] == "Tollgate proxy"
    assert (await harness.request("POST", METADATA, credential="")).status == 405


async def test_a_401_without_a_credential_points_to_the_metadata_in_both_dialects(harness: Harness) -> None:
    openai_answer = await harness.post(CHAT, OPENAI_BODY, credential="")
    anthropic_answer = await harness.post("/v1/messages", ANTHROPIC_BODY, credential="")
    for answer in (openai_answer, anthropic_answer):
        assert answer.status == 401
        assert challenges(answer) == [f'Bearer resource_metadata="{METADATA_URL}"']
    assert openai_answer.json()["error"]["type"] == "authentication_error"
    assert set(openai_answer.json()["error"]) == {"message", "type", "param", "code"}
    assert anthropic_answer.json()["type"] == "error"
    assert anthropic_answer.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    "changes",
    [{"exp": int(time.time()) - 60, "iat": int(time.time()) - 120}, {"aud": "someone-else"}, {"iss": "evil"}],
    ids=["expired", "other-audience", "other-issuer"],
)
async def test_a_refused_token_gets_invalid_token_in_both_dialects(harness: Harness, changes: dict[str, Any]) -> None:
    token = harness.signer.token(**changes)
    for path, body in ((CHAT, OPENAI_BODY), ("/v1/messages", ANTHROPIC_BODY)):
        answer = await harness.post(path, body, credential=token)
        assert answer.status == 401
        (challenge,) = challenges(answer)
        assert challenge.startswith(f'Bearer resource_metadata="{METADATA_URL}", error="invalid_token", ')
        assert 'error_description="token ' in challenge
        assert token not in challenge
    assert harness.upstream.requests == []


async def test_an_unknown_api_key_and_a_revoked_token_are_challenged_too(harness: Harness) -> None:
    answer = await harness.post(CHAT, OPENAI_BODY, credential="tg_" + "x" * 40)
    assert challenges(answer)[0].endswith('error="invalid_token", error_description="API key is not valid"')


async def test_an_answer_other_than_401_has_no_challenge(harness: Harness) -> None:
    harness.upstream.reply(Answer.json(completion()))
    assert challenges(await harness.post(CHAT, OPENAI_BODY)) == []
    assert challenges(await harness.post(CHAT, {**OPENAI_BODY, "model": "gpt-4o"})) == []  # 403


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "JWT", None])
async def test_access_tokens_and_plain_jwts_are_accepted(harness: Harness, typ: str | None) -> None:
    claims = harness.signer.claims("grt_1", "tnt_1", client_id="app-1")
    token = harness.signer.sign(claims, headers={"typ": typ} if typ else None)
    harness.upstream.reply(Answer.json(completion()))
    assert (await harness.post(CHAT, OPENAI_BODY, credential=token)).status == 200


async def test_another_kind_of_jwt_is_refused(harness: Harness) -> None:
    for typ in ("dpop+jwt", "logout+jwt", "id_token"):
        token = harness.signer.sign(harness.signer.claims("grt_1", "tnt_1"), headers={"typ": typ})
        answer = await harness.post(CHAT, OPENAI_BODY, credential=token)
        assert answer.status == 401
        assert "at+jwt" in answer.json()["error"]["message"]


def authenticator(harness: Harness) -> Authenticator:
    cache = PolicyCache()
    cache.apply(harness.signer.state())
    return Authenticator(cache, issuer=TOKEN_ISSUER, audience=TOKEN_AUDIENCE)


def test_the_audience_must_be_the_canonical_url_or_a_list_holding_it(harness: Harness) -> None:
    auth, signer, now = authenticator(harness), harness.signer, time.time()
    auth.authenticate(signer.token(aud=[TOKEN_AUDIENCE, "https://other.example"]), now)
    auth.authenticate(signer.token(aud=TOKEN_AUDIENCE + "/"), now)  # the same URI (RFC 3986 §6.2.3)
    auth.authenticate(signer.token(aud=["https://other.example", TOKEN_AUDIENCE + "/"]), now)
    wrong_ones = ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080//", "http://127.0.0.1:8081", "tollgate-proxy")
    for wrong in (*wrong_ones, ["https://other.example"], [7], 7):
        with pytest.raises(CredentialRejected, match="audience"):
            auth.authenticate(signer.token(aud=wrong), now)


def test_the_client_id_is_carried_into_the_principal(harness: Harness) -> None:
    auth, signer, now = authenticator(harness), harness.signer, time.time()
    assert auth.authenticate(signer.token(client_id="https://app.example/client.json"), now).client_id == (
        "https://app.example/client.json"
    )
    assert auth.authenticate(signer.token(), now).client_id is None  # admin-minted
    with pytest.raises(CredentialRejected, match="client_id"):
        auth.authenticate(signer.token(client_id=7), now)


def test_a_confirmation_the_proxy_cannot_check_is_refused(harness: Harness) -> None:
    auth, signer, now = authenticator(harness), harness.signer, time.time()
    for cnf in ({"x5t#S256": "abc"}, {"jkt": ""}, {"jkt": "a", "x5t#S256": "b"}, "jkt"):
        with pytest.raises(CredentialRejected, match="confirmation"):
            auth.authenticate(signer.token(cnf=cnf), now)


def test_the_public_url_is_kept_canonical_and_both_urls_must_be_absolute() -> None:
    settings = Settings(public_url="https://proxy.example/", issuer="https://auth.example")
    assert (settings.public_url, settings.issuer) == ("https://proxy.example", "https://auth.example")
    assert (Settings().public_url, Settings().issuer) == ("http://127.0.0.1:8080", "http://127.0.0.1:8081")
    bad: list[dict[str, Any]] = [
        {"public_url": "tollgate-proxy"},
        {"issuer": "tollgate"},
        {"public_url": "http://p/?x"},
    ]
    for fields in bad:
        with pytest.raises(ValidationError):
            Settings(**fields)
