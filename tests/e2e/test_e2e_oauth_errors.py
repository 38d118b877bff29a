"""Each way a delegated grant can be misused, against the running stack (auth on PostgreSQL, the proxy on the bus),
with the exact error its RFC names. Auth's unit tests cover the same authorization-request errors in process on
SQLite (and an expired request with a fixed clock, which a real stack could only show by waiting out its ten
minutes); here are the ones that need the whole system: a grant used beyond the owner's narrowing is refused by
the proxy, and a token exchange (RFC 8693) asking for more than the parent grant is refused by auth."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from authlib.common.security import generate_token

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli, Sdk

from .oauth_flow import App, HttpOwner, create_owner, details, forms_of

pytestmark = pytest.mark.e2e

PROMPT: list[Any] = [{"role": "user", "content": "Say hello"}]
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


@pytest.fixture
async def owner(e2e_stack: Stack, cli: Cli, handed_out: dict[str, str]) -> AsyncIterator[HttpOwner]:
    """A fresh owner, signed in to auth in a cookie-keeping client."""
    async with httpx.AsyncClient() as http:
        signed_in = HttpOwner(http, create_owner(cli, e2e_stack, handed_out))
        await signed_in.sign_in(e2e_stack.auth_url)
        yield signed_in


@pytest.fixture
async def app(e2e_stack: Stack) -> AsyncIterator[App]:
    async with httpx.AsyncClient() as http:
        yield await App.register(e2e_stack, http)


def error_of(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]


async def test_a_pkce_mismatch_and_a_reused_code_are_invalid_grant(app: App, owner: HttpOwner) -> None:
    verifier = generate_token(48)
    code = await app.code(owner, verifier, details())
    assert error_of(await app.exchange(code, generate_token(48))) == (400, "invalid_grant")  # RFC 7636 §4.6

    verifier = generate_token(48)
    code = await app.code(owner, verifier, details())
    first = await app.exchange(code, verifier)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    assert error_of(await app.exchange(code, verifier)) == (400, "invalid_grant")  # RFC 6749 §4.1.2: once


async def test_a_bad_redirect_uri_or_an_unknown_client_is_shown_never_redirected(app: App, owner: HttpOwner) -> None:
    verifier = generate_token(48)
    # RFC 6749 §4.1.2.1: the owner is told; the user agent is not sent to an unchecked URI.
    elsewhere = await owner.http.get(app.authorization_url(verifier, details(), redirect_uri="https://evil.example/cb"))
    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
    assert "https://evil.example/cb" in elsewhere.text
    nobody = await owner.http.get(app.authorization_url(verifier, details(), client_id="cli_nobody"))
    assert nobody.status_code == 400 and "location" not in nobody.headers
    assert "invalid_client" in nobody.text
    # RFC 6749 §5.2 at the token endpoint: a client that sent only its id is 400 invalid_client.
    token = await app.http.post(
        app.meta["token_endpoint"],
        data={"grant_type": "authorization_code", "client_id": "cli_nobody", "code": "x", "code_verifier": verifier},
    )
    assert error_of(token) == (400, "invalid_client")


async def test_a_consent_post_without_its_csrf_token_is_refused(app: App, owner: HttpOwner) -> None:
    page = await owner.consent_page(app.authorization_url(generate_token(48), details()))
    [(action, fields)] = [form for form in forms_of(page.text) if "request_id" in form[1]]
    fields.pop("csrf")
    answer = await owner.http.post(str(page.url.join(action)), data=fields | {"decision": "approve"})
    assert answer.status_code == 403 and "location" not in answer.headers


async def test_a_grant_used_beyond_the_owners_narrowing_is_refused_by_the_proxy(
    app: App, owner: HttpOwner, sdk: Sdk, handed_out: dict[str, str]
) -> None:
    asked = details(models=["gpt-4o-mini", "gpt-4o"], max_requests=10)
    token = await app.token(owner, asked, unchecked=("gpt-4o",), max_requests="2")
    handed_out["narrowed grant token"] = token["access_token"]
    [granted] = token["authorization_details"]
    assert (granted["models"], granted["max_requests"]) == (["gpt-4o-mini"], 2)
    client = sdk.openai(token["access_token"])

    with pytest.raises(openai.PermissionDeniedError) as outside:
        client.chat.completions.create(model="gpt-4o", messages=PROMPT)  # asked for, not given
    assert (outside.value.status_code, outside.value.code) == (403, "model_not_allowed")
    assert [model.id for model in client.models.list()] == ["gpt-4o-mini"]
    for _ in range(2):
        assert client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT).choices
    with pytest.raises(openai.RateLimitError) as capped:
        client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)  # 2 given of the 10 asked
    assert (capped.value.status_code, capped.value.code) == (429, "request_limit_reached")


async def test_a_token_exchange_asking_for_more_than_the_parent_has_is_invalid_request(
    app: App, owner: HttpOwner, sdk: Sdk, handed_out: dict[str, str]
) -> None:
    parent = await app.token(owner, details(models=["gpt-4o-mini", "gpt-4o"]), budget_usd="1.00")
    handed_out["parent grant token"] = parent["access_token"]

    async def exchange(child: dict[str, Any]) -> httpx.Response:
        data = {
            "grant_type": TOKEN_EXCHANGE,
            "client_id": app.client_id,
            "subject_token": parent["access_token"],
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "requested_token_type": ACCESS_TOKEN_TYPE,
            "actor": "summariser sub-agent",
            "resource": app.stack.proxy_url,
            "authorization_details": json.dumps([{"type": "tollgate_ai_access", **child}]),
        }
        return await app.http.post(app.meta["token_endpoint"], data=data)

    # RFC 8693 §2.2.2: a request the server will not honour as asked is invalid_request.
    budget = {"amount": "2.00", "currency": "USD", "period": "total"}
    assert error_of(await exchange({"budget": budget})) == (400, "invalid_request")
    assert error_of(await exchange({"models": ["gpt-4o", "o1"]})) == (400, "invalid_request")
    assert error_of(await exchange({"provider": "anthropic"})) == (400, "invalid_request")

    # What the parent does have is given: a child for one model and part of the budget, that works on the proxy.
    narrower = await exchange({"models": ["gpt-4o-mini"], "budget": budget | {"amount": "0.25"}})
    assert narrower.status_code == 200, narrower.text
    child = narrower.json()
    handed_out["child grant token"] = child["access_token"]
    assert child["issued_token_type"] == ACCESS_TOKEN_TYPE and "refresh_token" not in child
    [granted] = child["authorization_details"]
    assert (granted["models"], granted["budget"]["amount"]) == (["gpt-4o-mini"], "0.25")
    assert child["grant_id"] != parent["grant_id"]
    client = sdk.openai(child["access_token"])
    assert client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT).choices
    with pytest.raises(openai.PermissionDeniedError) as outside:
        client.chat.completions.create(model="gpt-4o", messages=PROMPT)  # the parent's, not the child's
    assert outside.value.code == "model_not_allowed"
