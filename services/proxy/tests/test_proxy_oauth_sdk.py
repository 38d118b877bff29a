"""The proxy as an OAuth protected resource over real HTTP: the official SDKs still raise AuthenticationError on its
401s, whose `WWW-Authenticate` points to the RFC 9728 metadata; a DPoP-bound token works through uvicorn."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from joserfc import jwk
from mcp.client.auth.utils import (
    build_protected_resource_metadata_discovery_urls,
    extract_resource_metadata_from_www_auth,
)
from mcp.shared.auth import ProtectedResourceMetadata
from mcp.shared.auth_utils import check_resource_allowed, resource_url_from_server_url

from tollgate_proxy.testing import DpopApp
from tollgate_servicekit.dpop import sign_proof

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
async def resource(bare_stack: Any) -> Any:
    """The stack with the proxy's public URL its real address, and tokens minted for it (`aud`)."""
    bare_stack.signer.audience = bare_stack.url
    await bare_stack.populate()
    await bare_stack.start_proxy(public_url=bare_stack.url, issuer="http://127.0.0.1:8081")
    return bare_stack


def metadata_url(stack: Any) -> str:
    return f"{stack.url}/.well-known/oauth-protected-resource"


async def test_the_metadata_document_is_served_over_http(resource: Any) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(metadata_url(resource))
        assert (await client.head(metadata_url(resource))).status_code == 200
    assert answer.status_code == 200
    assert answer.headers["cache-control"].startswith("public")
    assert answer.json()["resource"] == resource.url
    assert answer.json()["authorization_servers"] == ["http://127.0.0.1:8081"]


async def test_openai_sdk_raises_authentication_error_with_the_challenge(resource: Any) -> None:
    with pytest.raises(openai.AuthenticationError) as refused:
        await resource.openai(credential=resource.token(aud="someone-else")).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES
        )
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_credential"
    challenge = refused.value.response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer resource_metadata="{metadata_url(resource)}", error="invalid_token"')


async def test_anthropic_sdk_raises_authentication_error_with_the_challenge(resource: Any) -> None:
    with pytest.raises(anthropic.AuthenticationError) as refused:
        await resource.anthropic(credential="tg_" + "x" * 40).messages.create(
            model="claude-3-5-haiku-latest", max_tokens=16, messages=MESSAGES
        )
    assert refused.value.status_code == 401
    assert refused.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    challenge = refused.value.response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer resource_metadata="{metadata_url(resource)}", error="invalid_token"')


async def test_a_request_without_credential_gets_the_bare_challenge_in_both_dialects(resource: Any) -> None:
    async with httpx.AsyncClient(base_url=resource.url) as client:
        chat = await client.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES})
        messages = await client.post("/v1/messages", json={"model": "claude-3-5-haiku-latest", "messages": MESSAGES})
    for answer in (chat, messages):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata_url(resource)}"'
    assert chat.json()["error"]["type"] == "authentication_error"
    assert messages.json()["error"]["type"] == "authentication_error"


async def test_a_dpop_bound_token_works_over_http_and_a_replay_does_not(resource: Any) -> None:
    key = jwk.generate_key("OKP", "Ed25519")
    claims = resource.signer.claims(
        resource.OPENAI_GRANT, resource.TENANT, cnf={"jkt": key.thumbprint()}, client_id="app-1"
    )
    token = resource.signer.sign(claims, headers={"typ": "at+jwt"})
    url = f"{resource.url}/v1/chat/completions"
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    async with httpx.AsyncClient() as client:
        proof = sign_proof(key, method="POST", url=url, access_token=token)
        headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
        first = await client.post(url + "?trace=1", json=body, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json()["choices"][0]["message"]["content"] == resource.REPLY
        replayed = await client.post(url, json=body, headers=headers)
        assert replayed.status_code == 401
        assert 'DPoP error="invalid_dpop_proof"' in replayed.headers["www-authenticate"]
        as_bearer = await client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
        assert as_bearer.status_code == 401
    assert "DPoP" not in str(resource.provider.seen[-1]["headers"])


async def test_a_required_nonce_comes_with_the_refusal_over_http(bare_stack: Any) -> None:
    bare_stack.signer.audience = bare_stack.url
    await bare_stack.populate()
    await bare_stack.start_proxy(public_url=bare_stack.url, dpop_require_nonce=True, dpop_nonce_secret="s" * 32)
    key = jwk.generate_key("EC", "P-256")
    claims = bare_stack.signer.claims(bare_stack.OPENAI_GRANT, bare_stack.TENANT, cnf={"jkt": key.thumbprint()})
    token = bare_stack.signer.sign(claims)
    url = f"{bare_stack.url}/v1/chat/completions"
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}

    def headers(nonce: str | None = None) -> dict[str, str]:
        proof = sign_proof(key, method="POST", url=url, access_token=token, nonce=nonce)
        return {"Authorization": f"DPoP {token}", "DPoP": proof}

    async with httpx.AsyncClient() as client:
        asked = await client.post(url, json=body, headers=headers())
        assert asked.status_code == 401
        assert 'DPoP error="use_dpop_nonce"' in asked.headers["www-authenticate"]
        answered = await client.post(url, json=body, headers=headers(asked.headers["dpop-nonce"]))
        assert answered.status_code == 200, answered.text


async def test_the_mcp_sdk_finds_the_metadata_from_the_401_and_accepts_the_resource(resource: Any) -> None:
    server_url = f"{resource.url}/v1/chat/completions"
    async with httpx2.AsyncClient() as client:
        refused = await client.post(server_url, json={"model": "gpt-4o-mini", "messages": MESSAGES})
        found = extract_resource_metadata_from_www_auth(refused)
        assert found == metadata_url(resource)
        assert build_protected_resource_metadata_discovery_urls(found, server_url)[0] == found
        prm = ProtectedResourceMetadata.model_validate_json((await client.get(found)).content)
    assert str(prm.resource) == resource.url  # no trailing slash added: the `resource` it sends is the `aud` we want
    assert [str(server) for server in prm.authorization_servers] == ["http://127.0.0.1:8081"]
    assert check_resource_allowed(
        requested_resource=resource_url_from_server_url(server_url), configured_resource=str(prm.resource)
    )


async def test_the_openai_sdk_uses_a_bound_token_with_a_fresh_proof_per_request(resource: Any) -> None:
    app = DpopApp.generate()
    token = resource.signer.sign(resource.signer.claims(resource.OPENAI_GRANT, resource.TENANT, cnf=app.cnf))
    http = httpx2.AsyncClient(auth=app.auth(token))
    client = openai.AsyncOpenAI(base_url=f"{resource.url}/v1", api_key="unused", max_retries=0, http_client=http)
    resource.clients.append(client)
    for _ in range(2):
        completion = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert completion.choices[0].message.content == resource.REPLY
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == resource.REPLY
    models = await client.models.list()
    assert models is not None
    # Without the key, the same token is refused through the same SDK: a stolen bound token is useless.
    thief = openai.AsyncOpenAI(base_url=f"{resource.url}/v1", api_key=token, max_retries=0)
    resource.clients.append(thief)
    with pytest.raises(openai.AuthenticationError) as refused:
        await thief.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert 'DPoP error="invalid_token"' in refused.value.response.headers["www-authenticate"]
