"""DPoP both sides on the running stack (RFC 9449): an app sends a proof to auth's token endpoint and gets a token
bound to its key (`cnf.jkt`, token_type DPoP); the proxy then takes that token only with a fresh proof by the key for
the very request — not as a plain Bearer, not with a replayed proof, not with a proof for another URL."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwk

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli
from tollgate_servicekit.dpop import jwk_thumbprint, sign_proof

from .oauth_flow import WELL_KNOWN_AS, HttpOwner, create_owner, details, query_of

pytestmark = pytest.mark.e2e

REDIRECT = "http://127.0.0.1:9/callback"  # never reached: the test reads the 303's Location
PROMPT: list[dict[str, Any]] = [{"role": "user", "content": "Say hello"}]


async def bound_token(stack: Stack, http: httpx.AsyncClient, owner: HttpOwner, key: jwk.ECKey) -> dict[str, Any]:
    """A public client's code flow, the code exchanged with a DPoP proof by `key`."""
    meta = (await http.get(stack.auth_url + WELL_KNOWN_AS)).json()
    body = {"client_name": "DPoP App", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    registered = await http.post(meta["registration_endpoint"], json=body)
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    verifier = generate_token(48)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": secrets.token_urlsafe(16),
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        "resource": stack.proxy_url,
        "authorization_details": json.dumps(details()),
    }
    redirect = await owner.answer(f"{meta['authorization_endpoint']}?{urlencode(query)}")
    assert redirect.status_code == 303, redirect.text
    form = {
        "grant_type": "authorization_code",
        "code": query_of(redirect.headers["location"])["code"],
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "code_verifier": verifier,
        "resource": stack.proxy_url,
    }
    proof = sign_proof(key, method="POST", url=meta["token_endpoint"])
    answer = await http.post(meta["token_endpoint"], data=form, headers={"DPoP": proof})
    assert answer.status_code == 200, answer.text
    token: dict[str, Any] = answer.json()
    return token


async def test_a_bound_token_works_with_proofs_and_not_as_a_bearer(
    e2e_stack: Stack, cli: Cli, handed_out: dict[str, str]
) -> None:
    key = jwk.ECKey.generate_key("P-256")
    async with httpx.AsyncClient(timeout=30) as http:
        owner = HttpOwner(http, create_owner(cli, e2e_stack, handed_out))
        await owner.sign_in(e2e_stack.auth_url)
        token = await bound_token(e2e_stack, http, owner, key)
        access = token["access_token"]
        handed_out["dpop-bound access token"] = access
        handed_out["dpop-bound refresh token"] = token["refresh_token"]
        assert token["token_type"] == "DPoP"
        claims = jwt.decode(access, options={"verify_signature": False})
        assert claims["cnf"] == {"jkt": jwk_thumbprint(key.as_dict(private=False))}

        url = f"{e2e_stack.proxy_url}/v1/chat/completions"
        body = {"model": "gpt-4o-mini", "messages": PROMPT}

        async def call(scheme: str, proof: str | None) -> httpx.Response:
            headers = {"Authorization": f"{scheme} {access}", **({"DPoP": proof} if proof else {})}
            return await http.post(url, json=body, headers=headers)

        proof = sign_proof(key, method="POST", url=url, access_token=access)
        ok = await call("DPoP", proof)
        assert ok.status_code == 200, ok.text
        assert ok.json()["choices"][0]["message"]["content"]

        as_bearer = await call("Bearer", None)
        assert as_bearer.status_code == 401, as_bearer.text
        assert "DPoP" in as_bearer.headers.get("www-authenticate", "")
        elsewhere = sign_proof(key, method="POST", url=f"{e2e_stack.proxy_url}/v1/embeddings", access_token=access)
        stranger = sign_proof(jwk.ECKey.generate_key("P-256"), method="POST", url=url, access_token=access)
        # No proof, the proof replayed, one for another URL, one by another key.
        for bad in (None, proof, elsewhere, stranger):
            refused = await call("DPoP", bad)
            assert refused.status_code == 401, refused.text
            assert 'error="invalid_dpop_proof"' in refused.headers.get("www-authenticate", ""), refused.headers
        # And a fresh proof by the key still works.
        again = await call("DPoP", sign_proof(key, method="POST", url=url, access_token=access))
        assert again.status_code == 200, again.text
