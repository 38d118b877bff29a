"""Sender-constrained tokens (DPoP, RFC 9449) through the running stack: the app sends a proof to auth's token
endpoint and gets a token bound to its key (`cnf.jkt`, `token_type: DPoP`); the proxy takes that token only with a
fresh proof by the same key for the very request — not without one, not with a replayed one, not with one for
another URL or method, and not as a plain bearer token. A stolen bound token is useless without the key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from joserfc import jwk

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli
from tollgate_servicekit.dpop import sign_proof

from .oauth_flow import App, HttpOwner, create_owner, details

pytestmark = pytest.mark.e2e

BODY: dict[str, Any] = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}


@pytest.fixture
async def owner(e2e_stack: Stack, cli: Cli, handed_out: dict[str, str]) -> AsyncIterator[HttpOwner]:
    async with httpx.AsyncClient() as http:
        signed_in = HttpOwner(http, create_owner(cli, e2e_stack, handed_out))
        await signed_in.sign_in(e2e_stack.auth_url)
        yield signed_in


async def test_a_bound_token_works_only_with_a_fresh_proof_for_each_request(
    e2e_stack: Stack, owner: HttpOwner, handed_out: dict[str, str]
) -> None:
    key = jwk.generate_key("EC", "P-256")
    async with httpx.AsyncClient() as http:
        app = await App.register(e2e_stack, http, name="DPoP app")
        assert "ES256" in app.meta.get("dpop_signing_alg_values_supported", []), app.meta
        verifier = generate_token(48)
        code = await app.code(owner, verifier, details())
        proof = sign_proof(key, method="POST", url=app.meta["token_endpoint"])
        answer = await app.exchange(code, verifier, headers={"DPoP": proof})
        assert answer.status_code == 200, answer.text
        issued = answer.json()
        token = issued["access_token"]
        handed_out["dpop-bound token"] = token
        handed_out["dpop-bound refresh token"] = issued.get("refresh_token", "")
        assert issued["token_type"] == "DPoP"
        assert jwt.decode(token, options={"verify_signature": False})["cnf"] == {"jkt": key.thumbprint()}

        chat = f"{e2e_stack.proxy_url}/v1/chat/completions"
        models = f"{e2e_stack.proxy_url}/v1/models"

        def headers(method: str = "POST", url: str = chat, scheme: str = "DPoP") -> dict[str, str]:
            return {
                "Authorization": f"{scheme} {token}",
                "DPoP": sign_proof(key, method=method, url=url, access_token=token),
            }

        def refused_proof(answer: httpx.Response) -> bool:
            return answer.status_code == 401 and "DPoP" in answer.headers.get("www-authenticate", "")

        # A fresh proof each time: accepted, on both routes.
        for _ in range(2):
            ok = await http.post(chat, json=BODY, headers=headers())
            assert ok.status_code == 200, ok.text
            assert ok.json()["choices"][0]["message"]["content"]
        listed = await http.get(models, headers=headers("GET", models))
        assert listed.status_code == 200, listed.text

        no_proof = await http.post(chat, json=BODY, headers={"Authorization": f"DPoP {token}"})
        assert refused_proof(no_proof), (no_proof.status_code, no_proof.headers)

        once = headers()
        assert (await http.post(chat, json=BODY, headers=once)).status_code == 200
        replayed = await http.post(chat, json=BODY, headers=once)
        assert refused_proof(replayed)
        assert 'error="invalid_dpop_proof"' in replayed.headers["www-authenticate"]

        other_url = await http.post(chat, json=BODY, headers=headers(url=models))
        assert refused_proof(other_url)
        other_method = await http.post(chat, json=BODY, headers=headers(method="GET"))
        assert refused_proof(other_method)

        # As a plain bearer token (the way a thief would try it), with or without a proof beside it.
        as_bearer = await http.post(chat, json=BODY, headers={"Authorization": f"Bearer {token}"})
        assert as_bearer.status_code == 401
        assert (await http.post(chat, json=BODY, headers=headers(scheme="Bearer"))).status_code == 401

        # Another key's proof for the right request does not make the token usable either.
        thief = jwk.generate_key("EC", "P-256")
        stolen = {
            "Authorization": f"DPoP {token}",
            "DPoP": sign_proof(thief, method="POST", url=chat, access_token=token),
        }
        assert refused_proof(await http.post(chat, json=BODY, headers=stolen))
