"""DPoP at the token endpoint (RFC 9449 §5): a proof binds the access token to its key (`cnf.jkt`, token_type DPoP);
a bad, replayed or foreign proof is `invalid_dpop_proof`; a public client's refresh needs a proof by the same key."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from joserfc import jwk

from tollgate_auth.app import create_app
from tollgate_servicekit.dpop import ALGORITHMS, jwk_thumbprint, sign_proof

from .conftest import running
from .test_auth_oauth_client_credentials import client_of, confidential
from .test_auth_oauth_device import DEVICE_GRANT, answer_on_page, device_client, start
from .test_auth_oauth_errors import clock, http
from .test_auth_oauth_flow import PUBLIC_URL, REDIRECT, Flow, authorize, flow, query, register

__all__ = ["clock", "flow", "http"]

TOKEN_URL = f"{PUBLIC_URL}/oauth/token"


def new_key() -> jwk.ECKey:
    return jwk.ECKey.generate_key("P-256")


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def code_for(flow: Flow) -> tuple[str, dict[str, str]]:
    """A fresh public client and the form of its code exchange (without the proof)."""
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
    return registered["client_id"], form


async def post_token(http: httpx.AsyncClient, form: dict[str, str], proof: str | None = None) -> httpx.Response:
    headers = {} if proof is None else {"DPoP": proof}
    return await http.post(TOKEN_URL, data=form, headers=headers)


def refused_with(answer: httpx.Response, error: str) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error


async def test_the_metadata_names_the_proof_algorithms(flow: Flow) -> None:
    assert flow.meta["dpop_signing_alg_values_supported"] == list(ALGORITHMS)


async def test_a_proof_binds_the_access_token_to_its_key(flow: Flow) -> None:
    key = new_key()
    _, form = await code_for(flow)
    answer = await post_token(flow.http, form, sign_proof(key, method="POST", url=TOKEN_URL))
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "DPoP"
    assert claims_of(token["access_token"])["cnf"] == {"jkt": jwk_thumbprint(key.as_dict(private=False))}
    # Without a proof, the same flow still hands out a Bearer token with no confirmation.
    _, plain_form = await code_for(flow)
    plain = (await post_token(flow.http, plain_form)).json()
    assert plain["token_type"] == "Bearer" and "cnf" not in claims_of(plain["access_token"])


@pytest.mark.parametrize(
    "proof",
    [
        pytest.param(lambda key: "not-a-jws", id="malformed"),
        pytest.param(lambda key: sign_proof(key, method="GET", url=TOKEN_URL), id="another-method"),
        pytest.param(lambda key: sign_proof(key, method="POST", url=f"{PUBLIC_URL}/oauth/revoke"), id="another-url"),
        pytest.param(lambda key: sign_proof(key, method="POST", url=TOKEN_URL, iat=time.time() - 600), id="stale"),
    ],
)
async def test_a_bad_proof_is_invalid_dpop_proof_and_burns_no_code(flow: Flow, proof: Any) -> None:
    key = new_key()
    _, form = await code_for(flow)
    refused_with(await post_token(flow.http, form, proof(key)), "invalid_dpop_proof")
    # The proof is checked before the code is taken: the app may try again with a good one.
    again = await post_token(flow.http, form, sign_proof(key, method="POST", url=TOKEN_URL))
    assert again.status_code == 200, again.text


async def test_a_replayed_proof_is_invalid_dpop_proof(flow: Flow) -> None:
    key = new_key()
    proof = sign_proof(key, method="POST", url=TOKEN_URL)
    _, form = await code_for(flow)
    assert (await post_token(flow.http, form, proof)).status_code == 200
    _, other = await code_for(flow)
    refused_with(await post_token(flow.http, other, proof), "invalid_dpop_proof")


async def test_a_bound_refresh_token_needs_a_proof_by_the_same_key(flow: Flow) -> None:
    key = new_key()
    client_id, form = await code_for(flow)
    first = (await post_token(flow.http, form, sign_proof(key, method="POST", url=TOKEN_URL))).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": client_id}
    refused_with(await post_token(flow.http, refresh), "invalid_dpop_proof")
    refused_with(
        await post_token(flow.http, refresh, sign_proof(new_key(), method="POST", url=TOKEN_URL)), "invalid_dpop_proof"
    )
    # Those refusals did not use the refresh token up (a thief without the key cannot burn the family).
    answer = await post_token(flow.http, refresh, sign_proof(key, method="POST", url=TOKEN_URL))
    assert answer.status_code == 200, answer.text
    second = answer.json()
    assert second["token_type"] == "DPoP"
    assert claims_of(second["access_token"])["cnf"] == claims_of(first["access_token"])["cnf"]
    # The rotated refresh token is bound too.
    rotated = {**refresh, "refresh_token": second["refresh_token"]}
    refused_with(await post_token(flow.http, rotated), "invalid_dpop_proof")


@pytest.fixture
async def nonce_http(make_settings) -> AsyncIterator[tuple[Flow, httpx.AsyncClient]]:
    app = create_app(make_settings(password_hash_time_cost=1, password_hash_memory_kib=64, dpop_require_nonce=True))
    async with running(app) as http:
        http.base_url = httpx.URL(PUBLIC_URL)
        accounts = app.state.runtime.service.accounts
        owner = await accounts.create_user("owner@example.com", "correct horse battery staple")
        http.cookies.set("tollgate_session", await accounts.open_session(owner))
        meta = (await http.get("/.well-known/oauth-authorization-server")).json()
        yield Flow(http, meta, app), http


async def test_a_required_nonce_is_asked_for_and_then_accepted(nonce_http: tuple[Flow, httpx.AsyncClient]) -> None:
    nonce_flow, http = nonce_http
    key = new_key()
    _, form = await code_for(nonce_flow)
    asked = await post_token(http, form, sign_proof(key, method="POST", url=TOKEN_URL))
    refused_with(asked, "use_dpop_nonce")
    nonce = asked.headers["DPoP-Nonce"]
    answer = await post_token(http, form, sign_proof(key, method="POST", url=TOKEN_URL, nonce=nonce))
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "DPoP"


async def test_client_credentials_with_a_proof_are_bound(flow: Flow) -> None:
    registered = await confidential(flow)
    async with client_of(flow, registered) as client:
        verifier = generate_token(48)
        location = await authorize(flow, client, verifier, decision="approve")
        await client.fetch_token(flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    key = new_key()
    basic = httpx.BasicAuth(registered["client_id"], registered["client_secret"])
    answer = await flow.http.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers={"DPoP": sign_proof(key, method="POST", url=TOKEN_URL)},
        auth=basic,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "DPoP"
    assert claims_of(token["access_token"])["cnf"] == {"jkt": jwk_thumbprint(key.as_dict(private=False))}


async def test_a_device_grant_poll_with_a_proof_is_bound(http: httpx.AsyncClient, clock: Any) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    done = await answer_on_page(http, started["user_code"], decision="approve")
    assert done.status_code == 200, done.text
    key = new_key()
    data = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"], "client_id": client_id}
    # The test's clock is fixed: proofs are issued at its time.
    now = clock.now().timestamp()
    refused_with(
        await post_token(http, data, sign_proof(key, method="GET", url=TOKEN_URL, iat=now)), "invalid_dpop_proof"
    )
    answer = await post_token(http, data, sign_proof(key, method="POST", url=TOKEN_URL, iat=now))
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "DPoP"
    assert claims_of(token["access_token"])["cnf"] == {"jkt": jwk_thumbprint(key.as_dict(private=False))}
    # A public client's refresh token from the device grant is bound as well.
    refresh = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": client_id}
    refused_with(await post_token(http, refresh), "invalid_dpop_proof")


async def test_two_proofs_are_refused_and_introspection_tells_the_binding(flow: Flow) -> None:
    key = new_key()
    client_id, form = await code_for(flow)
    proofs = [("DPoP", sign_proof(key, method="POST", url=TOKEN_URL)) for _ in range(2)]
    refused_with(await flow.http.post(TOKEN_URL, data=form, headers=proofs), "invalid_dpop_proof")
    token = (await post_token(flow.http, form, sign_proof(key, method="POST", url=TOKEN_URL))).json()
    answer = await flow.http.post(
        flow.meta["introspection_endpoint"], data={"token": token["access_token"], "client_id": client_id}
    )
    body = answer.json()
    assert (body["active"], body["token_type"]) == (True, "DPoP")
    assert body["cnf"] == {"jkt": jwk_thumbprint(key.as_dict(private=False))}
