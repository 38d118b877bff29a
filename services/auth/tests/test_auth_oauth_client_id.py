"""RFC 9068 §2.2 on every path auth issues OAuth access tokens by — code, refresh, client credentials, token
exchange, device: the header is `typ: at+jwt` and `client_id` names the client the token was issued to. The admin
path (`tollgate token mint`, `POST /v1/grants/{id}/tokens`) is not OAuth and has no client: its tokens are plain
JWTs (`typ: JWT`) without `client_id`, which the proxy accepts as such (and refuses as `at+jwt`)."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
from authlib.common.security import generate_token

from .test_auth_oauth_client_credentials import client_of, confidential
from .test_auth_oauth_device import answer_on_page, device_client, poll, start
from .test_auth_oauth_errors import clock, http
from .test_auth_oauth_flow import Flow, authorize, flow, register
from .test_auth_oauth_token_exchange import exchange, parent_token

__all__ = ["clock", "flow", "http"]

GRANT = {"provider": "openai", "models": ["gpt-4o-mini"], "budget_usd": "5"}


def assert_oauth_access_token(token: str, client_id: str) -> dict[str, Any]:
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    assert claims["client_id"] == client_id
    return claims


async def test_code_and_refresh_tokens_name_their_client(flow: Flow) -> None:
    registered = await register(flow)
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, verifier, decision="approve")
        first = await client.fetch_token(
            flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
        second = await client.refresh_token(flow.meta["token_endpoint"], refresh_token=first["refresh_token"])
    for token in (first, second):
        assert_oauth_access_token(token["access_token"], registered["client_id"])


async def test_client_credentials_tokens_name_their_client(flow: Flow) -> None:
    registered = await confidential(flow)
    async with client_of(flow, registered) as client:
        verifier = generate_token(48)
        location = await authorize(flow, client, verifier, decision="approve")
        await client.fetch_token(flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
        token = await client.fetch_token(flow.meta["token_endpoint"], grant_type="client_credentials")
    assert_oauth_access_token(token["access_token"], registered["client_id"])


async def test_an_exchanged_token_names_the_exchanging_client(flow: Flow) -> None:
    client_id, parent = await parent_token(flow)
    answer = await exchange(flow, client_id, parent["access_token"], actor="sub-agent")
    assert answer.status_code == 200, answer.text
    claims = assert_oauth_access_token(answer.json()["access_token"], client_id)
    assert claims["act"] == {"sub": "sub-agent"}


async def test_device_tokens_name_their_client(http: httpx.AsyncClient, clock) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    done = await answer_on_page(http, started["user_code"], decision="approve")
    assert done.status_code == 200, done.text
    clock.advance(6)
    answer = await poll(http, client_id, started["device_code"])
    assert answer.status_code == 200, answer.text
    assert_oauth_access_token(answer.json()["access_token"], client_id)


async def test_an_admin_minted_token_is_a_plain_jwt_without_client_id(client: httpx.AsyncClient) -> None:
    grant = (await client.post("/v1/grants", json=GRANT)).json()
    minted = await client.post(f"/v1/grants/{grant['id']}/tokens")
    assert minted.status_code == 201, minted.text
    token = minted.json()["access_token"]
    assert jwt.get_unverified_header(token)["typ"] == "JWT"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "client_id" not in claims and claims["sub"] == grant["id"]
