"""Each way an authorization request can go wrong, with the error its RFC names; and PAR, registration rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tollgate_auth.app import create_app
from tollgate_servicekit.testing import FixedClock

from .conftest import running
from .test_auth_oauth_flow import DETAILS, PUBLIC_URL, REDIRECT, form_fields, query

AUTHORIZE = "/oauth/authorize"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC))


@pytest.fixture
async def http(make_settings, clock, admin_key) -> AsyncIterator[httpx.AsyncClient]:
    """Auth with a signed-in owner (cookie set); the admin key is kept aside in `http.admin_key`."""
    settings = make_settings(password_hash_time_cost=1, password_hash_memory_kib=64)
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        client.base_url = httpx.URL(PUBLIC_URL)
        accounts = app.state.runtime.service.accounts
        owner = await accounts.create_user("owner@example.com", "correct horse battery staple")
        client.cookies.set("tollgate_session", await accounts.open_session(owner))
        yield client


async def register(http: httpx.AsyncClient, **metadata: Any) -> str:
    body = {"client_name": "Test app", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    answer = await http.post("/oauth/register", json={**body, **metadata})
    assert answer.status_code == 201, answer.text
    client_id: str = answer.json()["client_id"]
    return client_id


def params(client_id: str, **extra: str) -> dict[str, str]:
    verifier = generate_token(48)
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "st-1",
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        "authorization_details": json.dumps(DETAILS),
        **extra,
    }


async def test_an_unknown_client_is_shown_invalid_client_and_not_redirected(http) -> None:
    answer = await http.get(AUTHORIZE, params=params("cli_nobody"))
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "invalid_client" in answer.text


async def test_a_redirect_uri_mismatch_is_shown_and_not_redirected(http) -> None:
    client_id = await register(http)
    answer = await http.get(AUTHORIZE, params=params(client_id, redirect_uri="https://evil.example/cb"))
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "Redirect URI https://evil.example/cb is not supported" in answer.text


async def test_a_loopback_redirect_may_use_another_port(http) -> None:
    client_id = await register(http)
    answer = await http.get(AUTHORIZE, params=params(client_id, redirect_uri="http://127.0.0.1:50001/callback"))
    assert answer.status_code == 200, answer.text
    other_path = await http.get(AUTHORIZE, params=params(client_id, redirect_uri="http://127.0.0.1:50001/other"))
    assert other_path.status_code == 400


async def test_pkce_is_required_and_only_s256(http) -> None:
    client_id = await register(http)
    missing = {k: v for k, v in params(client_id).items() if not k.startswith("code_challenge")}
    plain = params(client_id, code_challenge="a" * 43, code_challenge_method="plain")
    for asked in (missing, plain):
        answer = await http.get(AUTHORIZE, params=asked)
        assert answer.status_code == 303
        got = query(answer.headers["location"])
        assert (got["error"], got["state"], got["iss"]) == ("invalid_request", "st-1", PUBLIC_URL)


async def test_another_resource_is_invalid_target(http) -> None:
    client_id = await register(http)
    answer = await http.get(AUTHORIZE, params=params(client_id, resource="https://elsewhere.example"))
    assert query(answer.headers["location"])["error"] == "invalid_target"


async def test_malformed_authorization_details_are_invalid_authorization_details(http) -> None:
    client_id = await register(http)
    answer = await http.get(AUTHORIZE, params=params(client_id, authorization_details='[{"type": "other"}]'))
    assert query(answer.headers["location"])["error"] == "invalid_authorization_details"


async def test_no_session_goes_to_sign_in_and_back(http) -> None:
    client_id = await register(http)
    asked = params(client_id)
    http.cookies.clear()
    answer = await http.get(AUTHORIZE, params=asked)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/signin?next=%2Foauth%2Fauthorize%3F")


async def test_an_expired_request_is_answered_with_an_error_redirect(http, clock) -> None:
    client_id = await register(http)
    page = await http.get(AUTHORIZE, params=params(client_id))
    clock.advance(601)
    answer = await http.post(AUTHORIZE, data={**form_fields(page.text), "decision": "approve"})
    assert answer.status_code == 303
    got = query(answer.headers["location"])
    assert (got["error"], got["state"], got["iss"]) == ("invalid_request", "st-1", PUBLIC_URL)
    assert "expired" in got["error_description"]
    again = await http.post(AUTHORIZE, data={**form_fields(page.text), "decision": "approve"})
    assert again.status_code == 409


async def test_a_form_post_without_csrf_is_refused(http) -> None:
    client_id = await register(http)
    page = await http.get(AUTHORIZE, params=params(client_id))
    fields = {k: v for k, v in form_fields(page.text).items() if k != "csrf"}
    answer = await http.post(AUTHORIZE, data={**fields, "decision": "approve"})
    assert answer.status_code == 403
    assert "location" not in answer.headers


async def test_pushed_requests_carry_the_terms_out_of_the_url(http) -> None:
    client_id = await register(http)
    pushed = await http.post("/oauth/par", data=params(client_id))
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:") and pushed.json()["expires_in"] == 60
    page = await http.get(AUTHORIZE, params={"client_id": client_id, "request_uri": request_uri})
    assert page.status_code == 200 and "Summarise my notes" in page.text
    used = await http.get(AUTHORIZE, params={"client_id": client_id, "request_uri": request_uri})
    assert used.status_code == 400 and "invalid_request_uri: request_uri: unknown, used or expired" in used.text


async def test_a_pushed_request_is_validated_when_pushed(http) -> None:
    client_id = await register(http)
    wrong = await http.post("/oauth/par", data=params(client_id, redirect_uri="https://evil.example/cb"))
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_request")
    unknown = await http.post("/oauth/par", data=params("cli_nobody"))
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_client")


async def test_par_can_be_required_globally(make_settings) -> None:
    app = create_app(make_settings(require_par=True))
    async with running(app) as http:
        client_id = await register(http)
        meta = (await http.get("/.well-known/oauth-authorization-server")).json()
        assert meta["require_pushed_authorization_requests"] is True
        answer = await http.get(AUTHORIZE, params=params(client_id))
        assert answer.status_code == 400 and "pushed" in answer.text


async def test_the_token_endpoint_names_unknown_clients_and_bad_codes(http) -> None:
    unknown = await http.post("/oauth/token", data={"grant_type": "authorization_code", "client_id": "cli_x"})
    # RFC 6749 §5.2: 401 is for a client that tried HTTP authentication; this one sent only its id.
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_client")
    client_id = await register(http)
    bad = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": "nope",
            "code_verifier": "x" * 43,
            "redirect_uri": REDIRECT,
        },
    )
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_grant")
    assert bad.headers["cache-control"] == "no-store"


async def test_registration_refuses_what_it_cannot_honour(http) -> None:
    no_redirect = await http.post("/oauth/register", json={"client_name": "x", "token_endpoint_auth_method": "none"})
    assert (no_redirect.status_code, no_redirect.json()["error"]) == (400, "invalid_redirect_uri")
    fragment = await http.post("/oauth/register", json={"redirect_uris": ["https://app.example/cb#x"]})
    assert fragment.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")
    not_json = await http.post("/oauth/register", content=b"[1]", headers={"content-type": "application/json"})
    assert not_json.json()["error"] == "invalid_client_metadata"


async def test_a_confidential_client_gets_a_secret_once(http) -> None:
    answer = await http.post(
        "/oauth/register", json={"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}
    )
    assert answer.status_code == 201
    assert answer.json()["client_secret"]


async def test_admin_only_registration_wants_the_admin_key(make_settings, admin_key) -> None:
    app = create_app(make_settings(registration="admin"))
    async with running(app) as http:
        body = {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
        refused = await http.post("/oauth/register", json=body)
        assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
        assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        wrong = await http.post("/oauth/register", json=body, headers={"Authorization": "Bearer tga_wrong"})
        assert wrong.status_code == 401
        allowed = await http.post("/oauth/register", json=body, headers={"Authorization": f"Bearer {admin_key}"})
        assert allowed.status_code == 201


async def test_par_can_be_required_per_client(http) -> None:
    client_id = await register(http, require_pushed_authorization_requests=True)
    answer = await http.get(AUTHORIZE, params=params(client_id))
    assert answer.status_code == 400 and "pushed" in answer.text
    pushed = await http.post("/oauth/par", data=params(client_id))
    request_uri = pushed.json()["request_uri"]
    page = await http.get(AUTHORIZE, params={"client_id": client_id, "request_uri": request_uri})
    assert page.status_code == 200
    bad = await http.post(
        "/oauth/register", json={"redirect_uris": [REDIRECT], "require_pushed_authorization_requests": "yes"}
    )
    assert bad.json()["error"] == "invalid_client_metadata"
