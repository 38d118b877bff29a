"""Sender-constrained tokens (DPoP, RFC 9449) on the proxy: a token bound to a key (`cnf.jkt`) works only with a
fresh proof of that key for this very request, once; bearer tokens are untouched."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwk

from tollgate_contracts import ErrorCode
from tollgate_proxy.domain.dpop import Nonces, Presentation, ProofPolicy, ReplayCache
from tollgate_proxy.domain.errors import ProofRejected, Unavailable
from tollgate_proxy.testing import Answer, Exchange, Harness, make_api_key
from tollgate_proxy.testing.provider import completion
from tollgate_servicekit.dpop import sign_proof

CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def harness() -> Harness:
    return Harness.build()


@pytest.fixture(scope="module")
def app_key() -> jwk.Key:
    """The app's own DPoP key pair; only its thumbprint goes into the token."""
    return jwk.generate_key("EC", "P-256")


def bound_token(harness: Harness, key: jwk.Key, **changes: Any) -> str:
    claims = harness.signer.claims("grt_1", "tnt_1", cnf={"jkt": key.thumbprint()}, client_id="app-1", **changes)
    return harness.signer.sign(claims, headers={"typ": "at+jwt"})


def url(harness: Harness, path: str = CHAT) -> str:
    return harness.signer.audience + path


def proof(harness: Harness, key: jwk.Key, token: str, *, method: str = "POST", path: str = CHAT, **kw: Any) -> str:
    return sign_proof(key, method=method, url=url(harness, path), access_token=token, **kw)


async def call(
    harness: Harness, token: str, *proofs: str, scheme: str = "DPoP", path: str = CHAT, method: str = "POST"
) -> Exchange:
    harness.upstream.reply(Answer.json(completion()))
    extra = [(b"dpop", p.encode()) for p in proofs]
    if method == "GET":
        return await harness.request("GET", path, credential=token, scheme=scheme, headers=extra)
    return await harness.post(path, BODY, credential=token, scheme=scheme, headers=extra)


def dpop_challenge(answer: Exchange) -> str:
    values = [v.decode() for n, v in answer.raw_headers if n == b"www-authenticate"]
    assert values[0].startswith('Bearer resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource"')
    (dpop,) = [v for v in values if v.startswith("DPoP ")]
    assert 'algs="ES256 ' in dpop
    return dpop


async def test_a_bound_token_works_with_a_fresh_proof_on_every_request(harness: Harness, app_key: jwk.Key) -> None:
    token = bound_token(harness, app_key)
    for _ in range(3):
        answer = await call(harness, token, proof(harness, app_key, token))
        assert answer.status == 200, answer.body
    assert len(harness.upstream.requests) == 3
    listing = proof(harness, app_key, token, method="GET", path="/v1/models")
    models = await call(harness, token, listing, method="GET", path="/v1/models")
    assert models.status == 200
    # The proof stays here: the provider sees neither it nor the token.
    assert all("dpop" not in sent.headers for sent in harness.upstream.requests)


async def test_a_bound_token_is_refused_without_a_proof(harness: Harness, app_key: jwk.Key) -> None:
    answer = await call(harness, bound_token(harness, app_key))
    assert answer.status == 401
    assert answer.json()["error"]["code"] == ErrorCode.INVALID_CREDENTIAL
    challenge = dpop_challenge(answer)
    assert challenge.startswith('DPoP error="invalid_dpop_proof", error_description="DPoP proof is missing"')
    assert harness.upstream.requests == []


async def test_a_bound_token_sent_as_bearer_is_refused_even_with_a_proof(harness: Harness, app_key: jwk.Key) -> None:
    token = bound_token(harness, app_key)
    answer = await call(harness, token, proof(harness, app_key, token), scheme="Bearer")
    assert answer.status == 401
    assert 'DPoP error="invalid_token"' in dpop_challenge(answer)
    assert "DPoP-bound" in answer.json()["error"]["message"]
    assert harness.upstream.requests == []


async def test_a_replayed_proof_is_refused(harness: Harness, app_key: jwk.Key) -> None:
    token = bound_token(harness, app_key)
    once = proof(harness, app_key, token)
    assert (await call(harness, token, once)).status == 200
    replayed = await call(harness, token, once)
    assert replayed.status == 401
    assert "used before" in dpop_challenge(replayed)
    assert len(harness.upstream.requests) == 1


async def test_a_proof_for_another_url_or_method_is_refused(harness: Harness, app_key: jwk.Key) -> None:
    token = bound_token(harness, app_key)
    other_path = await call(harness, token, proof(harness, app_key, token, path="/v1/embeddings"))
    assert "another URL" in dpop_challenge(other_path)
    other_host = sign_proof(app_key, method="POST", url="http://elsewhere.example:8080" + CHAT, access_token=token)
    assert "another URL" in dpop_challenge(await call(harness, token, other_host))
    other_method = await call(harness, token, proof(harness, app_key, token, method="GET"))
    assert "another HTTP method" in dpop_challenge(other_method)
    assert harness.upstream.requests == []


async def test_a_stale_proof_a_wrong_ath_or_another_key_is_refused(harness: Harness, app_key: jwk.Key) -> None:
    token = bound_token(harness, app_key)
    stale = proof(harness, app_key, token, iat=int(time.time()) - 120)
    assert "too old" in dpop_challenge(await call(harness, token, stale))
    for_another_token = proof(harness, app_key, bound_token(harness, app_key))
    assert "ath" in dpop_challenge(await call(harness, token, for_another_token))
    thief = jwk.generate_key("EC", "P-256")
    assert "another key" in dpop_challenge(await call(harness, token, proof(harness, thief, token)))
    two = await call(harness, token, proof(harness, app_key, token), proof(harness, app_key, token))
    assert "exactly one" in dpop_challenge(two)
    assert harness.upstream.requests == []


async def test_bearer_tokens_and_api_keys_are_not_accepted_as_dpop(harness: Harness, app_key: jwk.Key) -> None:
    token = harness.signer.token()
    answer = await call(harness, token, proof(harness, app_key, token))
    assert answer.status == 401
    assert 'DPoP error="invalid_token"' in dpop_challenge(answer)
    assert (await call(harness, token, scheme="Bearer")).status == 200
    api_key = "tg_" + "k" * 40
    harness.policy.apply(make_api_key(api_key))
    as_dpop = await call(harness, api_key, proof(harness, app_key, api_key))
    assert "API keys are not DPoP-bound" in dpop_challenge(as_dpop)
    assert (await call(harness, api_key, scheme="Bearer")).status == 200


async def test_the_anthropic_dialect_refuses_a_bound_token_in_its_own_shape(harness: Harness, app_key: jwk.Key) -> None:
    token = bound_token(harness, app_key)
    answer = await call(harness, token, path="/v1/messages")
    assert answer.status == 401
    assert answer.json()["type"] == "error" and answer.json()["error"]["type"] == "authentication_error"
    dpop_challenge(answer)


async def test_with_nonces_required_the_refusal_hands_out_the_nonce_to_use(app_key: jwk.Key) -> None:
    harness = Harness.build(proofs=ProofPolicy(public_url="http://127.0.0.1:8080", nonces=Nonces(b"k" * 32, 300)))
    token = bound_token(harness, app_key)
    asked = await call(harness, token, proof(harness, app_key, token))
    assert asked.status == 401
    assert 'DPoP error="use_dpop_nonce"' in dpop_challenge(asked)
    nonce = asked.headers["dpop-nonce"]
    assert (await call(harness, token, proof(harness, app_key, token, nonce=nonce))).status == 200
    harness.clock.advance(600)  # two windows later the nonce is no longer accepted
    token = bound_token(harness, app_key, exp=int(harness.clock.time()) + 900)
    late = await call(harness, token, proof(harness, app_key, token, nonce=nonce, iat=int(harness.clock.time())))
    assert 'DPoP error="use_dpop_nonce"' in dpop_challenge(late)
    assert late.headers["dpop-nonce"] != nonce


def test_nonces_are_accepted_for_their_window_and_the_next() -> None:
    nonces, other = Nonces(b"a" * 32, period=60), Nonces(b"b" * 32, period=60)
    first = nonces.current(1000.0)
    assert first in nonces.accepted(1019.0) and first in nonces.accepted(1079.0)
    assert first not in nonces.accepted(1080.0)
    assert nonces.current(1019.0) == first != other.current(1000.0)


# --- the policy and its replay cache, without a request -------------------------------------------------------


def test_the_replay_cache_forgets_a_jti_once_its_proof_is_too_old_anyway() -> None:
    cache = ReplayCache(max_entries=2)
    assert cache.first_use("a", until=100.0, now=50.0)
    assert not cache.first_use("a", until=100.0, now=99.0)
    assert cache.first_use("b", until=150.0, now=99.0)
    with pytest.raises(Unavailable) as full:
        cache.first_use("c", until=150.0, now=99.0)
    assert full.value.retry_after == 1
    assert cache.first_use("c", until=160.0, now=100.5)  # "a" expired and made room
    assert len(cache) == 2


def test_a_proof_is_remembered_for_exactly_its_window(app_key: jwk.Key) -> None:
    policy = ProofPolicy(public_url="https://proxy.example/", max_age=30)
    token, now = "tok", 1_800_000_000
    value = sign_proof(app_key, method="POST", url="https://proxy.example/v1/x", access_token=token, iat=now)
    presented = Presentation(dpop=True, proofs=(value,), method="POST", path="/v1/x")
    policy.check(token, app_key.thumbprint(), presented, now)
    with pytest.raises(ProofRejected, match="used before"):
        policy.check(token, app_key.thumbprint(), presented, now + 30)
    with pytest.raises(ProofRejected, match="too old"):
        policy.check(token, app_key.thumbprint(), presented, now + 31)


def test_one_key_flooding_proofs_does_not_lock_out_other_keys(app_key: jwk.Key) -> None:
    policy = ProofPolicy(public_url="https://proxy.example/", replay=ReplayCache(max_entries=20))
    other = jwk.generate_key("EC", "P-256")
    token, now = "tok", 1_800_000_000

    def check(key: jwk.Key) -> None:
        value = sign_proof(key, method="POST", url="https://proxy.example/v1/x", access_token=token, iat=now)
        policy.check(
            token, key.thumbprint(), Presentation(dpop=True, proofs=(value,), method="POST", path="/v1/x"), now
        )

    with pytest.raises(Unavailable):
        for _ in range(20):
            check(app_key)
    check(other)  # another client's key still has room
