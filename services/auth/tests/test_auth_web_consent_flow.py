"""The real authorization flow in Chromium: an app's authorization URL (PKCE S256, `authorization_details`) →
sign-in page → consent page → the owner lowers the budget and approves → the browser lands on the app's redirect
URI, another origin (so the consent page's `form-action` must name it) → the code buys a token for the narrowed
grant."""

from __future__ import annotations

import json
import re
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import Request
from fastapi.responses import PlainTextResponse

from tollgate_auth.app import create_app

from .conftest import serving

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
DETAILS = [
    {
        "type": "tollgate_ai_access",
        "provider": "openai",
        "models": ["gpt-4o-mini"],
        "budget": {"amount": "5.00", "currency": "USD", "period": "day"},
        "max_requests": 100,
        "reason": "Summarise my notes",
    }
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_owner_approves_a_narrowed_budget_through_the_real_consent_flow(
    browser: Any, make_settings, admin_key
) -> None:
    port = free_port()
    # Auth is `localhost`, the app's loopback redirect `127.0.0.1`: one server, two origins.
    public = f"http://localhost:{port}"
    redirect = f"http://127.0.0.1:{port}/app/callback"
    app = create_app(make_settings(public_url=public, password_hash_time_cost=1, password_hash_memory_kib=64))

    async def callback(request: Request) -> PlainTextResponse:
        return PlainTextResponse("the app got its answer")

    app.add_api_route("/app/callback", callback, methods=["GET"])
    async with serving(app, port) as base, httpx.AsyncClient(base_url=base) as http:
        admin = {"Authorization": f"Bearer {admin_key}"}
        made = await http.post("/v1/users", json={"email": "owner@example.com", "password": PASSWORD}, headers=admin)
        assert made.status_code == 201, made.text
        meta = (await http.get("/.well-known/oauth-authorization-server")).json()
        body = {"client_name": "Notes Summariser", "redirect_uris": [redirect], "token_endpoint_auth_method": "none"}
        registered = (await http.post("/oauth/register", json=body)).json()

        verifier = generate_token(48)
        client = AsyncOAuth2Client(
            client_id=registered["client_id"], redirect_uri=redirect, code_challenge_method="S256"
        )
        url, state = client.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier, authorization_details=json.dumps(DETAILS)
        )

        context = await browser.new_context(viewport={"width": 360, "height": 740})
        page = await context.new_page()
        blocked: list[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        await page.goto(url)
        await page.get_by_label("Email").fill("owner@example.com")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()

        await page.get_by_role("button", name="Approve").wait_for()
        assert await page.get_by_text("Notes Summariser").first.is_visible()
        assert await page.get_by_text("Summarise my notes").is_visible()
        assert await page.get_by_text("$5 per day").is_visible()
        budget = page.get_by_label("Budget (USD)")
        assert await budget.input_value() == "5"
        await budget.fill("1.25")
        await page.get_by_role("button", name="Approve").click()
        await page.wait_for_url(re.compile(re.escape(redirect) + r"\?"))
        assert blocked == []
        answer = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
        assert (answer["state"], answer["iss"]) == (state, public)
        await context.close()

        token = await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": redirect,
                "client_id": registered["client_id"],
                "code_verifier": verifier,
            },
        )
        assert token.status_code == 200, token.text
    [granted] = token.json()["authorization_details"]
    assert granted["budget"] == {"amount": "1.25", "currency": "USD", "period": "day"}
    assert (granted["models"], granted["max_requests"]) == (["gpt-4o-mini"], 100)
