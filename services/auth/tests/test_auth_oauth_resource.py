"""RFC 8707 on every token request, not only the code exchange: a `resource` other than the proxy's canonical URL
is `invalid_target` on refresh and client credentials too, and a refused request uses up nothing."""

from __future__ import annotations

import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuthError

from .test_auth_oauth_client_credentials import client_of, confidential
from .test_auth_oauth_flow import RESOURCE, Flow, authorize, flow, register

__all__ = ["flow"]

ELSEWHERE = "https://elsewhere.example/api"


async def test_refresh_checks_the_resource_before_rotating(flow: Flow) -> None:
    registered = await register(flow)
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, verifier, decision="approve")
        first = await client.fetch_token(
            flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
        with pytest.raises(OAuthError) as refused:
            await client.refresh_token(
                flow.meta["token_endpoint"], refresh_token=first["refresh_token"], resource=ELSEWHERE
            )
        assert refused.value.error == "invalid_target"
        # Refused before the refresh token was taken: it still rotates (no reuse, no dead family).
        second = await client.refresh_token(
            flow.meta["token_endpoint"], refresh_token=first["refresh_token"], resource=RESOURCE
        )
    assert second["grant_id"] == first["grant_id"]
    assert second["refresh_token"] != first["refresh_token"]


async def test_client_credentials_check_the_resource(flow: Flow) -> None:
    registered = await confidential(flow)
    async with client_of(flow, registered) as client:
        verifier = generate_token(48)
        location = await authorize(flow, client, verifier, decision="approve")
        await client.fetch_token(flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(flow.meta["token_endpoint"], grant_type="client_credentials", resource=ELSEWHERE)
        assert refused.value.error == "invalid_target"
        granted = await client.fetch_token(
            flow.meta["token_endpoint"], grant_type="client_credentials", resource=RESOURCE + "/"
        )
    assert granted["access_token"]


async def test_a_code_exchange_naming_another_resource_is_invalid_target_and_keeps_the_code(flow: Flow) -> None:
    registered = await register(flow)
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, verifier, decision="approve")
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(
                flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier, resource=ELSEWHERE
            )
        assert refused.value.error == "invalid_target"
        token = await client.fetch_token(
            flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    assert token["access_token"]
