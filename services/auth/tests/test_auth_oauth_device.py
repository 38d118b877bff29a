"""The device authorization grant (RFC 8628) over plain HTTP: every polling answer exactly as §3.5 says, and
approval on the verification page (the owner lowers the budget)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from .test_auth_oauth_errors import clock, http
from .test_auth_oauth_flow import DETAILS, PUBLIC_URL, form_fields

__all__ = ["clock", "http"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


async def device_client(http: httpx.AsyncClient) -> str:
    body = {
        "client_name": "Build bot",
        "grant_types": [DEVICE_GRANT, "refresh_token"],
        "token_endpoint_auth_method": "none",
    }
    answer = await http.post("/oauth/register", json=body)
    assert answer.status_code == 201, answer.text
    client_id: str = answer.json()["client_id"]
    return client_id


async def start(http: httpx.AsyncClient, client_id: str) -> dict[str, Any]:
    data = {"client_id": client_id, "authorization_details": json.dumps(DETAILS)}
    answer = await http.post("/oauth/device_authorization", data=data)
    assert answer.status_code == 200, answer.text
    started: dict[str, Any] = answer.json()
    return started


async def poll(http: httpx.AsyncClient, client_id: str, device_code: str) -> httpx.Response:
    data = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id}
    return await http.post("/oauth/token", data=data)


def error_of(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text
    error: str = answer.json()["error"]
    return error


async def answer_on_page(http: httpx.AsyncClient, user_code: str, **answer: str) -> httpx.Response:
    page = await http.get("/device", params={"user_code": user_code.lower().replace("-", " ")})
    assert page.status_code == 200, page.text
    assert "Build bot" in page.text and "Summarise my notes" in page.text
    return await http.post("/device", data={**form_fields(page.text), **answer})


async def test_the_device_flow_answers_each_poll_as_the_rfc_says(http, clock) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    assert started["verification_uri"] == f"{PUBLIC_URL}/device"
    assert started["verification_uri_complete"] == f"{PUBLIC_URL}/device?user_code={started['user_code']}"
    assert (started["interval"], started["expires_in"]) == (5, 600)
    assert len(started["user_code"]) == 9 and started["user_code"][4] == "-"
    code = started["device_code"]

    assert error_of(await poll(http, client_id, code)) == "authorization_pending"
    assert error_of(await poll(http, client_id, code)) == "slow_down"
    clock.advance(6)
    # The interval grew to ten seconds: six is still too soon.
    assert error_of(await poll(http, client_id, code)) == "slow_down"
    clock.advance(16)
    assert error_of(await poll(http, client_id, code)) == "authorization_pending"

    done = await answer_on_page(http, started["user_code"], decision="approve", budget_usd="0.75")
    assert done.status_code == 200 and "Approved" in done.text
    clock.advance(21)
    token = await poll(http, client_id, code)
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"] and body["grant_id"]
    assert body["authorization_details"][0]["budget"]["amount"] == "0.75"
    clock.advance(21)
    assert error_of(await poll(http, client_id, code)) == "invalid_grant"


async def test_a_denied_device_request_is_access_denied(http, clock) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    done = await answer_on_page(http, started["user_code"], decision="deny")
    assert "Denied" in done.text
    assert error_of(await poll(http, client_id, started["device_code"])) == "access_denied"


async def test_an_undecided_device_request_expires(http, clock) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    clock.advance(601)
    assert error_of(await poll(http, client_id, started["device_code"])) == "expired_token"
    late = await http.get("/device", params={"user_code": started["user_code"]})
    assert late.status_code == 404


async def test_device_requests_check_the_client_and_the_details(http) -> None:
    unknown = await http.post("/oauth/device_authorization", data={"client_id": "cli_nobody"})
    assert unknown.json()["error"] == "invalid_client"
    client_id = await device_client(http)
    bad = await http.post("/oauth/device_authorization", data={"client_id": client_id, "authorization_details": "[{}]"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_authorization_details")
    assert error_of(await poll(http, client_id, "no-such-code")) == "invalid_grant"
