"""The authorization code flow end to end, driven by Authlib's own OAuth 2.0 client against the real app (real
NATS, real SQLite): metadata → registration → PKCE S256 authorization URL with `authorization_details` →
consent (the owner lowers the budget) → code → RFC 9068 token; and the RFC's error for each way it can fail."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from tollgate_auth.app import create_app

from .conftest import last_state, running, stream_messages

PUBLIC_URL = "http://127.0.0.1:8081"
RESOURCE = "http://127.0.0.1:8080"
REDIRECT = "http://127.0.0.1:47123/callback"
DETAILS = [
    {
        "type": "tollgate_ai_access",
        "provider": "openai",
        "models": ["gpt-4o-mini"],
        "budget": {"amount": "5.00", "currency": "USD", "period": "total"},
        "max_requests": 100,
        "reason": "Summarise my notes",
    }
]


@dataclass
class Flow:
    http: httpx.AsyncClient
    """Auth, signed in as the owner (the session cookie is set)."""
    meta: dict[str, Any]
    app: Any

    def oauth_client(self, client_id: str, **kwargs: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=client_id,
            redirect_uri=REDIRECT,
            code_challenge_method="S256",
            token_endpoint_auth_method="none",
            # Authlib's client is built on httpx2 when it is installed (it is, for the MCP SDK).
            transport=httpx2.ASGITransport(app=self.app),
            **kwargs,
        )


@pytest.fixture
async def flow(make_settings) -> AsyncIterator[Flow]:
    app = create_app(make_settings(password_hash_time_cost=1, password_hash_memory_kib=64))
    async with running(app) as http:
        http.base_url = httpx.URL(PUBLIC_URL)
        accounts = app.state.runtime.service.accounts
        owner = await accounts.create_user("owner@example.com", "correct horse battery staple")
        http.cookies.set("tollgate_session", await accounts.open_session(owner))
        meta = (await http.get("/.well-known/oauth-authorization-server")).json()
        yield Flow(http, meta, app)


async def register(flow: Flow, **metadata: Any) -> dict[str, Any]:
    body = {"client_name": "Notes Summariser", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    answer = await flow.http.post(flow.meta["registration_endpoint"], json={**body, **metadata})
    assert answer.status_code == 201, answer.text
    registered: dict[str, Any] = answer.json()
    return registered


def form_fields(html: str) -> dict[str, str]:
    """What a browser sends of the consent form untouched: hidden fields (request id, CSRF token) and the
    checked model boxes."""
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    checked = re.findall(r'name="([^"]+)" type="checkbox" value="([^"]*)" checked', html)
    return dict(hidden + checked)


async def consent(flow: Flow, url: str, **answer: str) -> httpx.Response:
    """Open the consent page at `url` and post the owner's answer; returns the redirect to the client."""
    page = await flow.http.get(url)
    assert page.status_code == 200, page.text
    fields = form_fields(page.text)
    return await flow.http.post(flow.meta["authorization_endpoint"], data={**fields, **answer})


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def authorize(flow: Flow, client: AsyncOAuth2Client, verifier: str, **answer: str) -> str:
    """The client's redirect after the owner's answer; the state sent is kept as `client.state`."""
    url, client.state = client.create_authorization_url(
        flow.meta["authorization_endpoint"], code_verifier=verifier, authorization_details=json.dumps(DETAILS)
    )
    redirect = await consent(flow, url, **answer)
    assert redirect.status_code == 303, redirect.text
    location = redirect.headers["location"]
    assert location.startswith(REDIRECT)
    return location


async def test_metadata_names_every_endpoint_and_what_is_supported(flow: Flow) -> None:
    meta = flow.meta
    assert meta["issuer"] == PUBLIC_URL
    assert meta["authorization_endpoint"] == f"{PUBLIC_URL}/oauth/authorize"
    assert meta["token_endpoint"] == f"{PUBLIC_URL}/oauth/token"
    assert meta["registration_endpoint"] == f"{PUBLIC_URL}/oauth/register"
    assert meta["pushed_authorization_request_endpoint"] == f"{PUBLIC_URL}/oauth/par"
    assert meta["revocation_endpoint"] == f"{PUBLIC_URL}/oauth/revoke"
    assert meta["introspection_endpoint"] == f"{PUBLIC_URL}/oauth/introspect"
    assert meta["jwks_uri"] == f"{PUBLIC_URL}/.well-known/jwks.json"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_details_types_supported"] == ["tollgate_ai_access"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["client_id_metadata_document_supported"] is True
    assert meta["device_authorization_endpoint"] == f"{PUBLIC_URL}/oauth/device_authorization"
    assert meta["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ]
    assert "none" in meta["token_endpoint_auth_methods_supported"]


async def test_the_whole_code_flow_with_authlibs_client(flow: Flow, js) -> None:
    registered = await register(flow)
    assert "client_secret" not in registered
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, verifier, decision="approve", budget_usd="2.50")
        params = query(location)
        assert params["iss"] == PUBLIC_URL and params["state"] == client.state and params["code"]
        token = await client.fetch_token(
            flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier, resource=RESOURCE
        )
    assert token["token_type"] == "Bearer"
    [granted] = token["authorization_details"]
    assert granted["type"] == "tollgate_ai_access"
    assert (granted["provider"], granted["models"], granted["max_requests"]) == ("openai", ["gpt-4o-mini"], 100)
    assert granted["budget"] == {"amount": "2.50", "currency": "USD", "period": "total"}

    keys = (await flow.http.get(flow.meta["jwks_uri"])).json()["keys"]
    header = jwt.get_unverified_header(token["access_token"])
    assert (header["typ"], header["alg"]) == ("at+jwt", "EdDSA")
    [jwk] = [k for k in keys if k["kid"] == header["kid"]]
    claims = jwt.decode(
        token["access_token"],
        jwt.PyJWK(jwk).key,
        algorithms=["EdDSA"],
        audience=RESOURCE,
        issuer=PUBLIC_URL,
        options={"require": ["exp", "iat", "nbf", "jti", "sub", "iss", "aud", "client_id", "tid"]},
    )
    assert (claims["sub"], claims["client_id"]) == (token["grant_id"], registered["client_id"])
    assert claims["exp"] - claims["iat"] == 900

    # The narrowed grant was published before the code was handed out.
    state = await last_state(js, "TG_GRANTS", f"grant.state.v1.{token['grant_id']}")
    assert (state["status"], state["budget_micro_usd"], state["app_name"]) == ("active", 2_500_000, "Notes Summariser")


async def test_a_reused_code_is_invalid_grant_and_revokes_what_it_gave(flow: Flow, js) -> None:
    registered = await register(flow)
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, verifier, decision="approve")
        first = await client.fetch_token(
            flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
        with pytest.raises(OAuthError) as reused:
            await client.fetch_token(
                flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
            )
        assert reused.value.error == "invalid_grant"
        # RFC 6749 §4.1.2: what the code gave out the first time is revoked.
        with pytest.raises(OAuthError) as dead:
            await client.refresh_token(flow.meta["token_endpoint"], refresh_token=first["refresh_token"])
        assert dead.value.error == "invalid_grant"
    jti = jwt.decode(first["access_token"], options={"verify_signature": False})["jti"]
    assert (await last_state(js, "TG_REVOKED_TOKENS", f"token.revoked.v1.{jti}"))["grant_id"] == first["grant_id"]


async def test_a_pkce_mismatch_is_invalid_grant(flow: Flow) -> None:
    registered = await register(flow)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, generate_token(48), decision="approve")
        with pytest.raises(OAuthError) as mismatch:
            await client.fetch_token(
                flow.meta["token_endpoint"], authorization_response=location, code_verifier=generate_token(48)
            )
    assert mismatch.value.error == "invalid_grant"


async def test_a_denial_redirects_access_denied_with_iss(flow: Flow) -> None:
    registered = await register(flow)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, generate_token(48), decision="deny")
        answer = query(location)
        assert (answer["error"], answer["state"], answer["iss"]) == ("access_denied", client.state, PUBLIC_URL)
        assert "code" not in answer


async def test_refresh_rotates_and_a_reused_refresh_token_kills_the_family(flow: Flow, js) -> None:
    registered = await register(flow)
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, verifier, decision="approve")
        first = await client.fetch_token(
            flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
        assert first["refresh_token"].startswith("tgr_")
        second = await client.refresh_token(flow.meta["token_endpoint"], refresh_token=first["refresh_token"])
        assert second["refresh_token"] != first["refresh_token"]
        assert (second["grant_id"], second["authorization_details"]) == (
            first["grant_id"],
            first["authorization_details"],
        )
        with pytest.raises(OAuthError) as reused:
            await client.refresh_token(flow.meta["token_endpoint"], refresh_token=first["refresh_token"])
        assert reused.value.error == "invalid_grant"
        # The family is dead: the newest refresh token no longer works either.
        with pytest.raises(OAuthError) as dead:
            await client.refresh_token(flow.meta["token_endpoint"], refresh_token=second["refresh_token"])
        assert dead.value.error == "invalid_grant"

    jtis = [jwt.decode(t["access_token"], options={"verify_signature": False})["jti"] for t in (first, second)]
    for jti in jtis:
        revoked = await last_state(js, "TG_REVOKED_TOKENS", f"token.revoked.v1.{jti}")
        assert (revoked["grant_id"], revoked["producer"]) == (first["grant_id"], "auth")
    # Every presentation of a dead token is audited (and announces the live access tokens again).
    audit = [m for m in await stream_messages(js, "TG_AUDIT") if m.get("action") == "refresh_token.reused"]
    assert [a["target_id"] for a in audit] == [first["grant_id"]] * 2
    assert sorted(audit[0]["details"]["revoked_jtis"]) == sorted(jtis)


async def test_two_exchanges_of_one_code_at_once_never_give_two_tokens(flow: Flow) -> None:
    """Single use is decided by the database when Authlib asks (through the bridge), not read early. The losers
    count as replays (RFC 6749 §4.1.2: deny, and revoke what the code gave), so a double submit looks like a stolen
    code: the winner's tokens are revoked, and a winner still storing its refresh token when a replay lands is
    refused too. Never two tokens; at most one, and every other answer `invalid_grant`."""
    registered = await register(flow)
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, verifier, decision="approve")
    form = {
        "grant_type": "authorization_code",
        "code": query(location)["code"],
        "redirect_uri": REDIRECT,
        "client_id": registered["client_id"],
        "code_verifier": verifier,
    }
    answers = await asyncio.gather(*(flow.http.post(flow.meta["token_endpoint"], data=form) for _ in range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([200, 400, 400, 400], [400, 400, 400, 400]), statuses
    assert {a.json().get("error") for a in answers if a.status_code == 400} == {"invalid_grant"}


async def test_a_scope_only_request_lets_the_owner_choose_provider_and_models(flow: Flow) -> None:
    """MCP clients often send no authorization_details: the owner picks, starting from the tenant's template."""
    registered = await register(flow)
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"], scope="ai") as client:
        url, client.state = client.create_authorization_url(flow.meta["authorization_endpoint"], code_verifier=verifier)
        page = await flow.http.get(url)
        assert page.status_code == 200
        assert (
            '<label for="provider">Provider</label>' in page.text and '<label for="models">Models</label>' in page.text
        )
        answer = {"decision": "approve", "provider": "openai", "models": "gpt-4o-mini, gpt-4o", "budget_usd": "2"}
        redirect = await flow.http.post(flow.meta["authorization_endpoint"], data={**form_fields(page.text), **answer})
        location = redirect.headers["location"]
        token = await client.fetch_token(
            flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    [granted] = token["authorization_details"]
    assert (granted["provider"], granted["models"]) == ("openai", ["gpt-4o-mini", "gpt-4o"])
    assert granted["budget"]["amount"] == "2.00"
    assert token["scope"] == "ai"
