"""Token exchange for sub-grants (RFC 8693): an app trades its access token for one of a narrower child grant, with
an `act` claim naming the sub-agent; asking for more than the parent has is `invalid_request`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from joserfc import jwk

from tollgate_servicekit.dpop import jwk_thumbprint, sign_proof

from .conftest import last_state
from .test_auth_oauth_flow import PUBLIC_URL, REDIRECT, RESOURCE, Flow, consent, flow, query, register

__all__ = ["flow"]

TOKEN_URL = f"{PUBLIC_URL}/oauth/token"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
PARENT = [
    {
        "type": "tollgate_ai_access",
        "provider": "openai",
        "models": ["gpt-4o-mini", "gpt-4o"],
        "capabilities": ["chat", "embeddings"],
        "budget": {"amount": "5.00", "currency": "USD", "period": "total"},
        "max_requests": 100,
        "expires_in": 3600,
        "reason": "Research assistant",
    }
]


def child(**fields: Any) -> str:
    return json.dumps([{"type": "tollgate_ai_access", **fields}])


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def parent_token(flow: Flow, proof: str | None = None) -> tuple[str, dict[str, Any]]:
    """A client registered for token exchange, and its token for the grant the owner approved as asked."""
    registered = await register(flow, grant_types=["authorization_code", "refresh_token", EXCHANGE])
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"]) as client:
        url, _ = client.create_authorization_url(
            flow.meta["authorization_endpoint"], code_verifier=verifier, authorization_details=json.dumps(PARENT)
        )
    redirect = await consent(flow, url, decision="approve")
    form = {
        "grant_type": "authorization_code",
        "code": query(redirect.headers["location"])["code"],
        "redirect_uri": REDIRECT,
        "client_id": registered["client_id"],
        "code_verifier": verifier,
    }
    answer = await flow.http.post(TOKEN_URL, data=form, headers={"DPoP": proof} if proof else {})
    assert answer.status_code == 200, answer.text
    return registered["client_id"], answer.json()


async def exchange(flow: Flow, client_id: str, subject: str, proof: str | None = None, **params: str) -> httpx.Response:
    form = {
        "grant_type": EXCHANGE,
        "client_id": client_id,
        "subject_token": subject,
        "subject_token_type": ACCESS,
        **params,
    }
    return await flow.http.post(TOKEN_URL, data=form, headers={"DPoP": proof} if proof else {})


def refused(answer: httpx.Response, error: str) -> str:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"] == error, body
    description: str = body.get("error_description", "")
    return description


async def test_an_exchange_yields_a_narrower_child_grant_with_act(flow: Flow, js) -> None:
    client_id, parent = await parent_token(flow)
    details = child(models=["gpt-4o-mini"], budget={"amount": "1.00", "currency": "USD"}, max_requests=10)
    answer = await exchange(
        flow, client_id, parent["access_token"], authorization_details=details, actor="summariser-subagent"
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert (token["issued_token_type"], token["token_type"]) == (ACCESS, "Bearer")
    assert "refresh_token" not in token
    child_id = token["grant_id"]
    assert child_id != parent["grant_id"]
    [granted] = token["authorization_details"]
    assert (granted["models"], granted["budget"]["amount"], granted["max_requests"]) == (["gpt-4o-mini"], "1.00", 10)
    # What the child did not say it inherits from the parent: capabilities, and an expiry no later.
    assert sorted(granted["capabilities"]) == ["chat", "embeddings"]
    assert 0 < granted["expires_in"] <= 3600

    claims = claims_of(token["access_token"])
    assert (claims["sub"], claims["client_id"], claims["aud"]) == (child_id, client_id, RESOURCE)
    assert claims["act"] == {"sub": "summariser-subagent"}
    introspected = await flow.http.post(
        flow.meta["introspection_endpoint"], data={"token": token["access_token"], "client_id": client_id}
    )
    assert (introspected.json()["grant_id"], introspected.json()["act"]) == (child_id, claims["act"])

    state = await last_state(js, "TG_GRANTS", f"grant.state.v1.{child_id}")
    assert (state["parent_grant_id"], state["budget_micro_usd"], state["models"]) == (
        parent["grant_id"],
        1_000_000,
        ["gpt-4o-mini"],
    )
    # The child is stored with its parent and budget period (read back from the database).
    stored = await flow.app.state.runtime.service.get_grant(child_id)
    assert (stored.parent_grant_id, stored.budget_period.value) == (parent["grant_id"], "total")


async def test_the_actor_defaults_to_the_client_and_nests_on_a_second_exchange(flow: Flow) -> None:
    client_id, parent = await parent_token(flow)
    first = (await exchange(flow, client_id, parent["access_token"])).json()
    assert claims_of(first["access_token"])["act"] == {"sub": client_id}
    second = await exchange(flow, client_id, first["access_token"], actor="grandchild")
    assert second.status_code == 200, second.text
    assert claims_of(second.json()["access_token"])["act"] == {"sub": "grandchild", "act": {"sub": client_id}}


@pytest.mark.parametrize(
    ("details", "says"),
    [
        pytest.param(child(models=["gpt-5"]), "models", id="another-model"),
        pytest.param(child(budget={"amount": "10.00", "currency": "USD"}), "budget", id="a-bigger-budget"),
        pytest.param(child(capabilities=["images"]), "capabilities", id="another-capability"),
        pytest.param(child(max_requests=1000), "max_requests", id="more-requests"),
        pytest.param(child(expires_in=7200), "expires_in", id="a-later-expiry"),
        pytest.param(child(provider="anthropic"), "provider", id="another-provider"),
    ],
)
async def test_asking_for_more_than_the_parent_is_invalid_request(flow: Flow, details: str, says: str) -> None:
    client_id, parent = await parent_token(flow)
    answer = await exchange(flow, client_id, parent["access_token"], authorization_details=details)
    assert says in refused(answer, "invalid_request")


async def test_the_subject_token_must_be_a_live_token_of_this_client(flow: Flow) -> None:
    client_id, parent = await parent_token(flow)
    subject = parent["access_token"]
    refused(await exchange(flow, client_id, "not-a-token"), "invalid_request")
    refused(await exchange(flow, client_id, subject, subject_token_type="urn:x:other"), "invalid_request")
    refused(await exchange(flow, client_id, subject, requested_token_type="urn:x:other"), "invalid_request")
    refused(await exchange(flow, client_id, subject, audience="https://elsewhere.example"), "invalid_target")
    refused(await exchange(flow, client_id, subject, resource="https://elsewhere.example"), "invalid_target")
    other_client, _ = await parent_token(flow)
    assert "this client" in refused(await exchange(flow, other_client, subject), "invalid_request")
    # A client not registered for the exchange may not use it.
    plain = await register(flow)
    answer = await exchange(flow, plain["client_id"], subject)
    assert (answer.status_code, answer.json()["error"]) == (400, "unauthorized_client")
    # A revoked subject token is refused.
    revoked = await flow.http.post(flow.meta["revocation_endpoint"], data={"token": subject, "client_id": client_id})
    assert revoked.status_code == 200
    assert "revoked" in refused(await exchange(flow, client_id, subject), "invalid_request")


async def test_a_bound_subject_token_needs_its_key_and_the_child_is_bound_too(flow: Flow) -> None:
    key = jwk.ECKey.generate_key("P-256")
    client_id, parent = await parent_token(flow, sign_proof(key, method="POST", url=TOKEN_URL))
    assert parent["token_type"] == "DPoP"
    subject = parent["access_token"]
    refused(await exchange(flow, client_id, subject), "invalid_dpop_proof")
    stranger = jwk.ECKey.generate_key("P-256")
    foreign = sign_proof(stranger, method="POST", url=TOKEN_URL)
    refused(await exchange(flow, client_id, subject, foreign), "invalid_dpop_proof")
    answer = await exchange(flow, client_id, subject, sign_proof(key, method="POST", url=TOKEN_URL))
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "DPoP"
    assert claims_of(token["access_token"])["cnf"] == {"jkt": jwk_thumbprint(key.as_dict(private=False))}


async def test_an_actor_token_names_its_client_as_the_actor(flow: Flow) -> None:
    client_id, parent = await parent_token(flow)
    agent_client, agent = await parent_token(flow)
    answer = await exchange(
        flow, client_id, parent["access_token"], actor_token=agent["access_token"], actor_token_type=ACCESS
    )
    assert answer.status_code == 200, answer.text
    assert claims_of(answer.json()["access_token"])["act"] == {"sub": agent_client}
    without_type = await exchange(flow, client_id, parent["access_token"], actor_token=agent["access_token"])
    assert "actor_token_type" in refused(without_type, "invalid_request")
