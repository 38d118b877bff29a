"""Revocation (RFC 7009) and introspection (RFC 7662) with Authlib's client, on tokens from the real flow."""

from __future__ import annotations

import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuthError

from .conftest import last_state
from .test_auth_oauth_flow import Flow, authorize, flow, register

__all__ = ["flow"]


async def tokens(flow: Flow) -> tuple[str, dict[str, str]]:
    registered = await register(flow)
    verifier = generate_token(48)
    async with flow.oauth_client(registered["client_id"]) as client:
        location = await authorize(flow, client, verifier, decision="approve", budget_usd="1.25")
        token = await client.fetch_token(
            flow.meta["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    return registered["client_id"], token


async def introspect(flow: Flow, client_id: str, token: str) -> dict[str, object]:
    answer = await flow.http.post(flow.meta["introspection_endpoint"], data={"token": token, "client_id": client_id})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_introspection_tells_the_grant_and_its_details(flow: Flow) -> None:
    client_id, token = await tokens(flow)
    body = await introspect(flow, client_id, token["access_token"])
    assert body["active"] is True
    assert (body["grant_id"], body["client_id"], body["sub"]) == (token["grant_id"], client_id, token["grant_id"])
    [details] = body["authorization_details"]  # type: ignore[misc]
    assert details["budget"]["amount"] == "1.25"
    refresh = await introspect(flow, client_id, token["refresh_token"])
    assert (refresh["active"], refresh["grant_id"]) == (True, token["grant_id"])
    assert await introspect(flow, client_id, "not-a-token") == {"active": False}
    other = (await register(flow))["client_id"]
    assert await introspect(flow, other, token["access_token"]) == {"active": False}


async def test_revoking_an_access_token_announces_it_and_deactivates_it(flow: Flow, js) -> None:
    client_id, token = await tokens(flow)
    async with flow.oauth_client(client_id) as client:
        answer = await client.revoke_token(flow.meta["revocation_endpoint"], token=token["access_token"])
        assert answer.status_code == 200
    jti = jwt.decode(token["access_token"], options={"verify_signature": False})["jti"]
    revoked = await last_state(js, "TG_REVOKED_TOKENS", f"token.revoked.v1.{jti}")
    assert revoked["grant_id"] == token["grant_id"]
    assert (await introspect(flow, client_id, token["access_token"]))["active"] is False
    # Unknown tokens are fine to revoke (RFC 7009 §2.2).
    async with flow.oauth_client(client_id) as client:
        assert (await client.revoke_token(flow.meta["revocation_endpoint"], token="nothing")).status_code == 200


async def test_revoking_a_refresh_token_ends_its_family(flow: Flow, js) -> None:
    client_id, token = await tokens(flow)
    async with flow.oauth_client(client_id) as client:
        answer = await client.revoke_token(
            flow.meta["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token"
        )
        assert answer.status_code == 200
        with pytest.raises(OAuthError) as refused:
            await client.refresh_token(flow.meta["token_endpoint"], refresh_token=token["refresh_token"])
        assert refused.value.error == "invalid_grant"
    jti = jwt.decode(token["access_token"], options={"verify_signature": False})["jti"]
    assert (await last_state(js, "TG_REVOKED_TOKENS", f"token.revoked.v1.{jti}"))["grant_id"] == token["grant_id"]
    assert (await introspect(flow, client_id, token["access_token"]))["active"] is False
