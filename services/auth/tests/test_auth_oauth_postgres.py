"""The OAuth flow on PostgreSQL (the other tests run on SQLite): code, refresh, reuse, device polling, PAR."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuthError

from tollgate_auth.app import create_app

from .conftest import running
from .test_auth_oauth_flow import DETAILS, PUBLIC_URL, Flow, authorize, register


@pytest.fixture
async def pg_flow(make_settings, pg_database) -> AsyncIterator[Flow]:
    settings = make_settings(
        database_url=pg_database.url,
        database_schema=pg_database.schema,
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
    )
    app = create_app(settings)
    async with running(app) as http:
        http.base_url = httpx.URL(PUBLIC_URL)
        accounts = app.state.runtime.service.accounts
        owner = await accounts.create_user("owner@example.com", "correct horse battery staple")
        http.cookies.set("tollgate_session", await accounts.open_session(owner))
        meta = (await http.get("/.well-known/oauth-authorization-server")).json()
        yield Flow(http, meta, app)


async def test_code_refresh_and_reuse_on_postgres(pg_flow: Flow) -> None:
    registered = await register(pg_flow)
    verifier = generate_token(48)
    async with pg_flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(pg_flow, client, verifier, decision="approve", budget_usd="1")
        first = await client.fetch_token(
            pg_flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
        second = await client.refresh_token(pg_flow.meta["token_endpoint"], refresh_token=first["refresh_token"])
        assert second["grant_id"] == first["grant_id"]
        with pytest.raises(OAuthError) as reused:
            await client.refresh_token(pg_flow.meta["token_endpoint"], refresh_token=first["refresh_token"])
        assert reused.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as replayed:
            await client.fetch_token(
                pg_flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
            )
        assert replayed.value.error == "invalid_grant"
    introspected = await pg_flow.http.post(
        pg_flow.meta["introspection_endpoint"],
        data={"token": second["access_token"], "client_id": registered["client_id"]},
    )
    assert introspected.json() == {"active": False}


async def test_device_and_par_on_postgres(pg_flow: Flow) -> None:
    http = pg_flow.http
    body = {"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "token_endpoint_auth_method": "none"}
    client_id = (await http.post("/oauth/register", json=body)).json()["client_id"]
    started = (await http.post("/oauth/device_authorization", data={"client_id": client_id})).json()
    polled = await http.post(
        "/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": started["device_code"],
            "client_id": client_id,
        },
    )
    assert polled.json()["error"] == "authorization_pending"

    web = await register(pg_flow)
    pushed = await http.post(
        "/oauth/par",
        data={
            "response_type": "code",
            "client_id": web["client_id"],
            "redirect_uri": web["redirect_uris"][0],
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "authorization_details": json.dumps(DETAILS),
        },
    )
    assert pushed.status_code == 201, pushed.text
    page = await http.get(
        "/oauth/authorize", params={"client_id": web["client_id"], "request_uri": pushed.json()["request_uri"]}
    )
    assert page.status_code == 200
