"""Issue 7's whole flow on the running stack, with an ordinary OAuth client and a real browser: Authlib's OAuth 2.0
client discovers auth's RFC 8414 metadata, registers (RFC 7591) a public client with a loopback redirect, and sends
the owner to an authorization URL with PKCE S256 and `authorization_details` (RFC 9396); in Chromium the owner
signs in, reads the request, lowers the budget and approves; the app checks `iss` (RFC 9207), exchanges the code,
calls the proxy with the official openai SDK and refreshes; the proxy enforces the owner's budget, not the app's;
and presenting a used refresh token kills the family, so the live access token stops working on the proxy."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import openai
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli, Sdk
from tollgate_servicekit.testing import eventually

from .oauth_flow import WELL_KNOWN_AS, Loopback, Owner, consent_in_browser, create_owner, details, query_of

pytestmark = pytest.mark.e2e

PROMPT: list[Any] = [{"role": "user", "content": "Summarise: the quick brown fox jumps over the lazy dog"}]
CLIENT_NAME = "Notes Summariser"
NARROWED_USD = "0.000001"  # one micro-dollar: the first call fits (nothing spent yet), none after it


@pytest.fixture
def owner(cli: Cli, e2e_stack: Stack, handed_out: dict[str, str]) -> Owner:
    return create_owner(cli, e2e_stack, handed_out)


async def test_an_app_asks_the_owner_narrows_and_the_proxy_enforces_the_narrowed_grant(
    e2e_stack: Stack, browser: Any, owner: Owner, sdk: Sdk, cli: Cli, handed_out: dict[str, str]
) -> None:
    with Loopback.start() as loopback:
        async with httpx.AsyncClient() as http:
            meta = (await http.get(e2e_stack.auth_url + WELL_KNOWN_AS)).json()
            assert meta["issuer"] == e2e_stack.auth_url
            registration = {
                "client_name": CLIENT_NAME,
                "redirect_uris": [loopback.redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
            }
            registered = await http.post(meta["registration_endpoint"], json=registration)
            assert registered.status_code == 201, registered.text
            client_id = registered.json()["client_id"]
            assert "client_secret" not in registered.json()

        async with AsyncOAuth2Client(
            client_id=client_id,
            redirect_uri=loopback.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="none",
        ) as app:
            verifier = generate_token(48)
            url, app.state = app.create_authorization_url(
                meta["authorization_endpoint"],
                code_verifier=verifier,
                authorization_details=json.dumps(details()),
                resource=e2e_stack.proxy_url,
            )
            assert "code_challenge_method=S256" in url

            context = await browser.new_context(viewport={"width": 390, "height": 844})
            page = await context.new_page()
            await consent_in_browser(
                page,
                url,
                owner,
                budget_usd=NARROWED_USD,
                shown=(CLIENT_NAME, "summarise my notes", "gpt-4o-mini", "openai", "$5 in total"),
            )
            answer = await loopback.answer()
            await context.close()
            assert answer["iss"] == meta["issuer"]  # RFC 9207: the answer comes from the server we asked
            assert answer["state"] == app.state and answer["code"]
            handed_out["authorization code"] = answer["code"]

            token = await app.fetch_token(
                meta["token_endpoint"], code=answer["code"], code_verifier=verifier, resource=e2e_stack.proxy_url
            )
            handed_out["oauth access token"] = token["access_token"]
            handed_out["oauth refresh token"] = token["refresh_token"]
            [granted] = token["authorization_details"]
            assert granted["budget"] == {"amount": NARROWED_USD, "currency": "USD", "period": "total"}
            assert (granted["provider"], granted["models"]) == ("openai", ["gpt-4o-mini"])
            grant_id = token["grant_id"]

            reply = sdk.openai(token["access_token"]).chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
            assert reply.choices[0].message.content

            refreshed = await app.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
            handed_out["oauth refreshed access token"] = refreshed["access_token"]
            handed_out["oauth refreshed refresh token"] = refreshed["refresh_token"]
            assert refreshed["refresh_token"] != token["refresh_token"]
            assert (refreshed["grant_id"], refreshed["authorization_details"]) == (grant_id, [granted])

            # The one call cost more than a micro-dollar: once metering has counted it and told the proxy,
            # the refreshed token (same grant) is refused for the budget the owner set, not the $5 asked.
            usage = await eventually(
                lambda: (u := cli.json("usage", grant_id))["requests"] >= 1 and u,
                timeout=30,
                interval=0.2,
                what="metering to count the call",
            )
            assert usage["cost_micro_usd"] > 1, usage
            live = sdk.openai(refreshed["access_token"])

            def refused_for_budget() -> openai.RateLimitError | None:
                try:
                    live.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
                except openai.RateLimitError as refused:
                    return refused
                return None

            refused = await eventually(refused_for_budget, timeout=30, interval=0.5, what="the 429 for the budget")
            assert (refused.status_code, refused.code) == (429, "budget_exhausted")

            # Introspection (RFC 7662) tells the app the same: its grant, its details and the budget metering last
            # reported, spent.
            async def introspected() -> dict[str, Any] | None:
                answer = await app.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"])
                found: dict[str, Any] = answer.json()
                return found if found.get("budget_exhausted") else None

            seen = await eventually(introspected, timeout=30, interval=0.2, what="introspection to see the spend")
            assert (seen["active"], seen["grant_id"], seen["budget_remaining_usd"]) == (True, grant_id, "0.00")
            # The same terms; `expires_in` counts down from the grant's expiry.
            [terms] = seen["authorization_details"]
            assert {k: v for k, v in terms.items() if k != "expires_in"} == {
                k: v for k, v in granted.items() if k != "expires_in"
            }

            # A used refresh token presented again: the family dies (RFC 9700 §4.14.2), and with it the live
            # access token, on every proxy through the revocation stream.
            with pytest.raises(OAuthError) as reused:
                await app.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
            assert reused.value.error == "invalid_grant"
            with pytest.raises(OAuthError) as dead:
                await app.refresh_token(meta["token_endpoint"], refresh_token=refreshed["refresh_token"])
            assert dead.value.error == "invalid_grant"
            gone = await app.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"])
            assert gone.json() == {"active": False}

    def refused_after_reuse() -> openai.APIStatusError | None:
        try:
            live.chat.completions.create(model="gpt-4o-mini", messages=PROMPT)
        except openai.RateLimitError:
            return None  # still only the budget: the revocation has not reached the proxy yet
        except (openai.AuthenticationError, openai.PermissionDeniedError) as refused:
            return refused
        return None

    killed = await eventually(refused_after_reuse, timeout=30, interval=0.2, what="the proxy to refuse the token")
    assert killed.status_code in (401, 403), killed


async def test_with_a_pushed_request_the_terms_never_travel_in_the_browsers_url(
    e2e_stack: Stack, browser: Any, owner: Owner, handed_out: dict[str, str]
) -> None:
    with Loopback.start() as loopback:
        async with AsyncOAuth2Client(
            client_id=None, redirect_uri=loopback.redirect_uri, code_challenge_method="S256"
        ) as app:
            meta = (await app.request("GET", e2e_stack.auth_url + WELL_KNOWN_AS, withhold_token=True)).json()
            registration = {"client_name": "Pushy App", "redirect_uris": [loopback.redirect_uri]}
            registered = await app.request(
                "POST",
                meta["registration_endpoint"],
                json=registration | {"token_endpoint_auth_method": "none"},
                withhold_token=True,
            )
            assert registered.status_code == 201, registered.text
            app.client_id = registered.json()["client_id"]
            verifier = generate_token(48)
            # RFC 9126: the whole request (terms, PKCE, state) goes to auth directly; the browser carries a handle.
            full, app.state = app.create_authorization_url(
                meta["authorization_endpoint"],
                code_verifier=verifier,
                authorization_details=json.dumps(details(reason="pushed, not in the URL")),
                resource=e2e_stack.proxy_url,
            )
            pushed = await app.request(
                "POST", meta["pushed_authorization_request_endpoint"], data=query_of(full), withhold_token=True
            )
            assert pushed.status_code == 201, pushed.text
            url = f"{meta['authorization_endpoint']}?" + urlencode(
                {"client_id": app.client_id, "request_uri": pushed.json()["request_uri"]}
            )

            context = await browser.new_context()
            page = await context.new_page()
            visited: list[str] = []
            page.on("request", lambda request: visited.append(request.url))
            await consent_in_browser(page, url, owner, budget_usd="0.40", shown=("pushed, not in the URL", "Pushy App"))
            answer = await loopback.answer()
            await context.close()
            assert (answer["iss"], answer["state"]) == (meta["issuer"], app.state)
            handed_out["pushed authorization code"] = answer["code"]
            assert any("request_uri=" in u for u in visited), visited
            assert not [u for u in visited if "authorization_details" in u or "budget" in u or "code_challenge" in u]

            token = await app.fetch_token(
                meta["token_endpoint"], code=answer["code"], code_verifier=verifier, resource=e2e_stack.proxy_url
            )
            handed_out["pushed access token"] = token["access_token"]
            handed_out["pushed refresh token"] = token["refresh_token"]
            assert token["authorization_details"][0]["budget"]["amount"] == "0.40"
