"""Client credentials (RFC 6749 §4.4) for a confidential client whose request the owner approved once."""

from __future__ import annotations

import httpx2
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from .test_auth_oauth_flow import REDIRECT, Flow, authorize, flow

__all__ = ["flow"]


async def confidential(flow: Flow) -> dict[str, str]:
    body = {
        "client_name": "Nightly reports",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    answer = await flow.http.post(flow.meta["registration_endpoint"], json=body)
    assert answer.status_code == 201, answer.text
    registered: dict[str, str] = answer.json()
    return registered


def client_of(flow: Flow, registered: dict[str, str], secret: str | None = None) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=registered["client_id"],
        client_secret=secret or registered["client_secret"],
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        transport=httpx2.ASGITransport(app=flow.app),
    )


async def test_client_credentials_after_one_approval(flow: Flow) -> None:
    registered = await confidential(flow)
    async with client_of(flow, registered) as client:
        with pytest.raises(OAuthError) as unapproved:
            await client.fetch_token(flow.meta["token_endpoint"], grant_type="client_credentials")
        assert unapproved.value.error == "invalid_grant"

        verifier = generate_token(48)
        location = await authorize(flow, client, verifier, decision="approve", budget_usd="3")
        first = await client.fetch_token(
            flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
        assert "refresh_token" not in first  # not registered for refresh_token

        later = await client.fetch_token(flow.meta["token_endpoint"], grant_type="client_credentials")
        assert later["grant_id"] == first["grant_id"]
        assert later["authorization_details"][0]["budget"]["amount"] == "3.00"
        assert "refresh_token" not in later


async def test_client_credentials_want_the_secret(flow: Flow) -> None:
    registered = await confidential(flow)
    async with client_of(flow, registered, secret="wrong") as client:
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(flow.meta["token_endpoint"], grant_type="client_credentials")
        assert refused.value.error == "invalid_client"
    public = (
        await flow.http.post(
            flow.meta["registration_endpoint"],
            json={
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "grant_types": ["client_credentials"],
            },
        )
    ).json()
    answer = await flow.http.post(
        flow.meta["token_endpoint"], data={"grant_type": "client_credentials", "client_id": public["client_id"]}
    )
    assert answer.json()["error"] in ("invalid_client", "unauthorized_client")
