"""Client ID Metadata Documents: a client named by the URL of its own metadata, fetched through the egress guard
(loopback allowed only by the test setting), shown with its verified domain on the consent page."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tollgate_auth.app import create_app
from tollgate_servicekit.testing import eventually

from .conftest import running
from .test_auth_oauth_flow import DETAILS, PUBLIC_URL, REDIRECT, form_fields, query

DOCUMENTS: dict[str, Any] = {}


async def document(request: Any) -> Response:
    name = request.path_params["name"]
    if name == "huge.json":
        return Response(b"{" + b" " * 100_000 + b"}", media_type="application/json")
    if name not in DOCUMENTS:
        return Response(status_code=404)
    return JSONResponse(DOCUMENTS[name])


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """An app's web site on loopback, serving its client metadata documents."""
    app = Starlette(routes=[Route("/{name}", document)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, what="the document server")
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def http(make_settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = make_settings(client_metadata_loopback=True, password_hash_time_cost=1, password_hash_memory_kib=64)
    app = create_app(settings)
    async with running(app) as client:
        client.base_url = httpx.URL(PUBLIC_URL)
        accounts = app.state.runtime.service.accounts
        owner = await accounts.create_user("owner@example.com", "correct horse battery staple")
        client.cookies.set("tollgate_session", await accounts.open_session(owner))
        yield client, app


async def test_a_metadata_document_client_runs_the_flow(site, http) -> None:
    client_http, app = http
    client_id = f"{site}/client.json"
    DOCUMENTS["client.json"] = {"client_id": client_id, "client_name": "Doc App", "redirect_uris": [REDIRECT]}
    verifier = generate_token(48)
    oauth = AsyncOAuth2Client(
        client_id=client_id,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        transport=httpx2.ASGITransport(app=app),
    )
    async with oauth:
        url, state = oauth.create_authorization_url(
            f"{PUBLIC_URL}/oauth/authorize", code_verifier=verifier, authorization_details=json.dumps(DETAILS)
        )
        page = await client_http.get(url)
        assert page.status_code == 200, page.text
        assert "Doc App" in page.text and "Verified domain: <strong>127.0.0.1</strong>" in page.text
        answer = await client_http.post("/oauth/authorize", data={**form_fields(page.text), "decision": "approve"})
        location = answer.headers["location"]
        assert query(location)["state"] == state
        token = await oauth.fetch_token(
            f"{PUBLIC_URL}/oauth/token", authorization_response=location, code_verifier=verifier
        )
    assert token["grant_id"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("liar.json", {"client_id": "https://someone.else/client.json", "redirect_uris": [REDIRECT]}),
        ("secretive.json", {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}),
        ("huge.json", None),
        ("missing.json", None),
    ],
)
async def test_a_bad_document_is_an_unknown_client(site, http, name, content) -> None:
    client_http, _ = http
    client_id = f"{site}/{name}"
    if content is not None:
        DOCUMENTS[name] = {"client_id": client_id, **content}
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT}
    answer = await client_http.get("/oauth/authorize", params=params)
    assert answer.status_code == 400 and "invalid_client" in answer.text
    assert "location" not in answer.headers


async def test_loopback_documents_need_the_test_setting(site, make_settings) -> None:
    client_id = f"{site}/client.json"
    DOCUMENTS["client.json"] = {"client_id": client_id, "redirect_uris": [REDIRECT]}
    async with running(create_app(make_settings())) as client:
        answer = await client.get("/oauth/authorize", params={"response_type": "code", "client_id": client_id})
        assert answer.status_code == 400 and "invalid_client" in answer.text
