"""The device flow's verification page in Chromium (RFC 8628 §3.3): the owner opens the verification URI, signs
in, types the code the device shows, sees the request on the consent form, lowers the budget and approves; the
polling device then gets a token for the narrowed grant."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest

from tollgate_auth.app import create_app

from .conftest import serving

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DETAILS = [
    {
        "type": "tollgate_ai_access",
        "provider": "anthropic",
        "models": ["claude-*"],
        "budget": {"amount": "3.00", "currency": "USD", "period": "total"},
        "reason": "Nightly builds",
    }
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_owner_types_the_device_code_narrows_and_approves(browser: Any, make_settings, admin_key) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    app = create_app(make_settings(public_url=public, password_hash_time_cost=1, password_hash_memory_kib=64))
    async with serving(app, port) as base, httpx.AsyncClient(base_url=base) as http:
        admin = {"Authorization": f"Bearer {admin_key}"}
        made = await http.post("/v1/users", json={"email": "owner@example.com", "password": PASSWORD}, headers=admin)
        assert made.status_code == 201, made.text
        body = {"client_name": "Build bot", "grant_types": [DEVICE_GRANT], "token_endpoint_auth_method": "none"}
        client_id = (await http.post("/oauth/register", json=body)).json()["client_id"]
        started = (
            await http.post(
                "/oauth/device_authorization",
                data={"client_id": client_id, "authorization_details": json.dumps(DETAILS)},
            )
        ).json()

        page = await browser.new_page(viewport={"width": 360, "height": 740})
        await page.goto(started["verification_uri"])
        await page.get_by_label("Email").fill("owner@example.com")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        # Typed as people type it: lower case, a space for the dash.
        await page.get_by_label("Code shown on your device").fill(started["user_code"].lower().replace("-", " "))
        await page.keyboard.press("Enter")

        await page.get_by_role("button", name="Approve").wait_for()
        assert await page.get_by_text(started["user_code"]).is_visible()
        assert await page.get_by_text("Build bot").first.is_visible()
        assert await page.get_by_text("Nightly builds").is_visible()
        assert await page.get_by_label("Budget (USD)").input_value() == "3"
        await page.get_by_label("Budget (USD)").fill("0.5")
        await page.get_by_role("button", name="Approve").click()
        await page.get_by_role("alert").wait_for()
        assert await page.get_by_role("alert").inner_text() == "Approved. You can return to your device."
        await page.close()

        poll = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"], "client_id": client_id}
        token = await http.post("/oauth/token", data=poll)
    assert token.status_code == 200, token.text
    [granted] = token.json()["authorization_details"]
    assert (granted["provider"], granted["models"]) == ("anthropic", ["claude-*"])
    assert granted["budget"]["amount"] == "0.50"
