"""DPoP proofs (RFC 9449 §4.3): what a valid proof is, and each way one is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwk

from tollgate_servicekit.dpop import (
    ALGORITHMS,
    ProofInvalid,
    canonical_url,
    check_proof,
    jwk_thumbprint,
    sign_proof,
    token_hash,
)

URL = "https://proxy.example/v1/chat/completions"
TOKEN = "eyJ.access.token"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def key() -> jwk.Key:
    return jwk.generate_key("EC", "P-256")


def proof(key: jwk.Key, **changes: Any) -> str:
    fields: dict[str, Any] = {"method": "POST", "url": URL, "access_token": TOKEN, "iat": NOW}
    fields.update(changes)
    return sign_proof(key, **fields)


def check(value: str, **changes: Any) -> Any:
    fields: dict[str, Any] = {"method": "POST", "url": URL, "now": NOW, "access_token": TOKEN}
    fields.update(changes)
    return check_proof(value, **fields)


def refusal(value: str, **changes: Any) -> ProofInvalid:
    with pytest.raises(ProofInvalid) as caught:
        check(value, **changes)
    return caught.value


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


def claims(**changes: Any) -> dict[str, Any]:
    return {"jti": "j1", "htm": "POST", "htu": URL, "iat": NOW, "ath": token_hash(TOKEN), **changes}


KEYS: dict[str, Callable[[], jwk.Key]] = {
    "ES256": lambda: jwk.generate_key("EC", "P-256"),
    "ES384": lambda: jwk.generate_key("EC", "P-384"),
    "EdDSA": lambda: jwk.generate_key("OKP", "Ed25519"),
    "PS256": lambda: jwk.generate_key("RSA", 2048),
}


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_a_proof_signed_with_its_own_key_verifies_and_names_that_keys_thumbprint(alg: str) -> None:
    key = KEYS[alg]()
    result = check(proof(key, jti="jti-1", nonce="n1"))
    assert result.jkt == jwk_thumbprint(key.as_dict(private=False)) == key.thumbprint()
    assert (result.jti, result.htm, result.iat, result.nonce) == ("jti-1", "POST", NOW, "n1")


def test_the_thumbprint_is_rfc_7638s() -> None:
    example = {  # RFC 7638 §3.1
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWK"
            "RXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMic"
            "AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3"
            "XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(example) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    with pytest.raises(ValueError, match="asymmetric"):
        jwk_thumbprint({"kty": "oct", "k": "c2VjcmV0"})
    with pytest.raises(ValueError, match="public"):
        jwk_thumbprint(jwk.generate_key("OKP", "Ed25519").as_dict(private=True))


def test_ath_is_the_base64url_sha256_of_the_token() -> None:
    assert token_hash(TOKEN) == b64(hashlib.sha256(TOKEN.encode()).digest())


def test_htu_compares_normalised_and_without_query_or_fragment(key: jwk.Key) -> None:
    value = proof(key, url="HTTPS://Proxy.Example:443/v1/chat/completions?x=1#f")
    assert check(value, url="https://proxy.example/v1/chat/completions?y=2").htu.endswith(":443/v1/chat/completions")
    assert canonical_url("http://LOCALHOST:80") == "http://localhost/"
    assert canonical_url("http://[::1]:8080/a?b") == "http://[::1]:8080/a"
    with pytest.raises(ValueError):
        canonical_url("ftp://host/x")


def test_a_proof_for_another_url_or_method_is_refused(key: jwk.Key) -> None:
    assert "URL" in refusal(proof(key), url="https://proxy.example/v1/embeddings").message
    assert "URL" in refusal(proof(key), url="https://elsewhere.example/v1/chat/completions").message
    assert "URL" in refusal(proof(key), url="https://proxy.example:8443/v1/chat/completions").message
    assert "URL" in refusal(proof(key), url="http://proxy.example/v1/chat/completions").message
    assert "method" in refusal(proof(key), method="GET").message


def test_a_stale_or_future_iat_is_refused(key: jwk.Key) -> None:
    check(proof(key, iat=NOW - 60))
    assert "old" in refusal(proof(key, iat=NOW - 61)).message
    check(proof(key, iat=NOW + 5))
    assert "future" in refusal(proof(key, iat=NOW + 6)).message
    assert "old" in refusal(proof(key, iat=NOW - 200), max_age=100).message
    assert "iat" in refusal(proof(key, iat=True)).message


def test_a_wrong_or_missing_ath_is_refused(key: jwk.Key) -> None:
    assert "ath" in refusal(proof(key, access_token="another-token")).message
    assert "ath" in refusal(proof(key, access_token=None)).message
    check(proof(key, access_token=None), access_token=None)  # the token endpoint: no token yet


def test_a_required_nonce_must_be_presented(key: jwk.Key) -> None:
    missing = refusal(proof(key), nonces={"n-1"})
    assert missing.error == "use_dpop_nonce"
    assert refusal(proof(key, nonce="old"), nonces={"n-1"}).error == "use_dpop_nonce"
    assert check(proof(key, nonce="n-1"), nonces={"n-1"}).nonce == "n-1"


def test_the_header_must_say_dpop_jwt_with_an_accepted_asymmetric_alg_and_a_public_jwk(key: jwk.Key) -> None:
    public = key.as_dict(private=False)
    good = proof(key)
    header_segment, payload, signature = good.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_segment + "=="))

    def with_header(**changes: Any) -> str:
        return f"{b64(json.dumps({**header, **changes}).encode())}.{payload}.{signature}"

    assert "typ" in refusal(with_header(typ="JWT")).message
    assert "alg" in refusal(with_header(alg="none")).message
    assert "alg" in refusal(unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": public}, claims())).message
    assert "public key" in refusal(with_header(jwk=key.as_dict(private=True))).message
    assert "jwk is missing" in refusal(with_header(jwk=None)).message
    assert "not accepted" in refusal(with_header(crit=["exp"])).message
    assert "signature" in refusal(with_header(jwk=jwk.generate_key("EC", "P-256").as_dict(private=False))).message
    assert "signature" in refusal(with_header(alg="ES384")).message
    assert "alg" in refusal(good, algorithms=["EdDSA"]).message


def test_an_hmac_proof_is_refused_even_with_a_symmetric_jwk() -> None:
    secret = b"shared-secret-shared-secret-1234"
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": b64(secret)}}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    value = f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    assert "alg" in refusal(value).message
    assert "HS256" not in ALGORITHMS
    assert "asymmetric" in refusal(value, algorithms=[*ALGORITHMS, "HS256"]).message


def test_claims_that_must_be_there(key: jwk.Key) -> None:
    assert "jti" in refusal(proof(key, jti="x" * 257)).message
    assert "not a compact JWS" in refusal("not-a-jws").message
    assert "too long" in refusal("a" * 9000).message
    assert "missing" in refusal("").message


def test_a_real_clock_proof_checks_against_time_now(key: jwk.Key) -> None:
    value = sign_proof(key, method="GET", url=URL)
    assert check_proof(value, method="GET", url=URL, now=time.time()).htm == "GET"
