"""Delegated-token verification: the algorithm is pinned, every claim is checked, forgeries fail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tollgate_contracts import TOKEN_AUDIENCE, TOKEN_ISSUER, ApiKeyState, ApiKeyStatus, ErrorCode, TokenRevoked
from tollgate_proxy.authenticator import Authenticator
from tollgate_proxy.domain.errors import CredentialRejected
from tollgate_proxy.domain.tokens import VerificationKey, check_claims, load_key, verify_token
from tollgate_proxy.policy_cache import PolicyCache

ISS, AUD = TOKEN_ISSUER, TOKEN_AUDIENCE


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(signature)


def keys_of(signer: Any) -> dict[str, VerificationKey]:
    return {signer.kid: load_key(signer.state())}


def rejected(token: str, keys: dict[str, VerificationKey], now: float | None = None) -> CredentialRejected:
    with pytest.raises(CredentialRejected) as caught:
        verify_token(token, keys, now=now if now is not None else time.time(), issuer=ISS, audience=AUD)
    return caught.value


def test_a_good_token_yields_grant_tenant_jti_and_expiry(signer: Any) -> None:
    claims = signer.claims("grt_9", "tnt_9")
    result, key = verify_token(signer.sign(claims), keys_of(signer), now=time.time(), issuer=ISS, audience=AUD)
    assert (result.grant_id, result.tenant_id, result.jti, result.expires_at) == (
        "grt_9",
        "tnt_9",
        claims["jti"],
        claims["exp"],
    )
    assert key.kid == signer.kid


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT"])
def test_an_at_jwt_token_without_client_id_is_refused(signer: Any, typ: str) -> None:
    # RFC 9068 §2.2: client_id is required of an access token in this profile.
    token = signer.sign(signer.claims("grt_1", "tnt_1"), headers={"typ": typ})
    assert "client_id" in rejected(token, keys_of(signer)).message
    for empty in ("", 7):
        token = signer.sign(signer.claims("grt_1", "tnt_1", client_id=empty), headers={"typ": typ})
        assert "client_id" in rejected(token, keys_of(signer)).message
    named = signer.sign(signer.claims("grt_1", "tnt_1", client_id="app-1"), headers={"typ": typ})
    result, _ = verify_token(named, keys_of(signer), now=time.time(), issuer=ISS, audience=AUD)
    assert result.client_id == "app-1"


def test_a_plain_jwt_from_the_admin_path_needs_no_client_id(signer: Any) -> None:
    for headers in ({"typ": "JWT"}, None):
        token = signer.sign(signer.claims("grt_1", "tnt_1"), headers=headers)
        result, _ = verify_token(token, keys_of(signer), now=time.time(), issuer=ISS, audience=AUD)
        assert result.client_id is None


def test_alg_none_is_refused(signer: Any) -> None:
    token = forge({"alg": "none", "kid": signer.kid, "typ": "JWT"}, signer.claims("grt_1", "tnt_1"))
    assert "algorithm" in rejected(token, keys_of(signer)).message


def test_hs256_signed_with_the_public_key_is_refused(signer: Any) -> None:
    claims = signer.claims("grt_1", "tnt_1")
    header = {"alg": "HS256", "kid": signer.kid, "typ": "JWT"}
    public_pem = signer.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    raw = signer.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    for secret in (public_pem, raw, json.dumps(signer.jwk()).encode()):
        signing_input = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())).encode()
        token = signing_input.decode() + "." + b64(hmac.new(secret, signing_input, hashlib.sha256).digest())
        assert rejected(token, keys_of(signer)).code is ErrorCode.INVALID_CREDENTIAL


def test_a_token_claiming_eddsa_but_signed_by_another_key_is_refused(signer: Any, new_signer: Any) -> None:
    impostor = new_signer(kid=signer.kid)
    assert "signature" in rejected(impostor.token(), keys_of(signer)).message


def test_a_tampered_payload_is_refused(signer: Any) -> None:
    header, _, signature = signer.token().split(".")
    evil = b64(json.dumps(signer.claims("grt_other", "tnt_1")).encode())
    assert "signature" in rejected(f"{header}.{evil}.{signature}", keys_of(signer)).message


def test_an_unknown_or_missing_kid_is_refused(signer: Any) -> None:
    assert "unknown key" in rejected(signer.sign(signer.claims("g", "t"), {"kid": "other"}), keys_of(signer)).message
    no_kid = forge({"alg": "EdDSA"}, signer.claims("g", "t"), b"x" * 64)
    assert "unknown key" in rejected(no_kid, keys_of(signer)).message


def test_garbage_is_refused(signer: Any) -> None:
    for token in ("", "abc", "a.b.c", "tg_not_a_jwt"):
        assert rejected(token, keys_of(signer)).code is ErrorCode.INVALID_CREDENTIAL


def test_wrong_audience_or_issuer_is_refused(signer: Any) -> None:
    assert "audience" in rejected(signer.token(aud="someone-else"), keys_of(signer)).message
    assert "issuer" in rejected(signer.token(iss="evil"), keys_of(signer)).message


def test_an_audience_list_containing_ours_is_accepted(signer: Any) -> None:
    verify_token(signer.token(aud=["x", AUD]), keys_of(signer), now=time.time(), issuer=ISS, audience=AUD)


def test_an_expired_token_says_so(signer: Any) -> None:
    now = int(time.time())
    token = signer.token(iat=now - 3600, nbf=now - 3600, exp=now - 60)
    assert rejected(token, keys_of(signer)).code is ErrorCode.TOKEN_EXPIRED


def test_a_token_not_yet_valid_or_issued_in_the_future_is_refused(signer: Any) -> None:
    now = int(time.time())
    assert "not valid yet" in rejected(signer.token(nbf=now + 600), keys_of(signer)).message
    assert "future" in rejected(signer.token(iat=now + 600, nbf=None), keys_of(signer)).message


def test_required_claims_must_be_present(signer: Any) -> None:
    for missing in ("exp", "iat", "sub", "jti", "tid"):
        assert rejected(signer.token(**{missing: None}), keys_of(signer)).code in {
            ErrorCode.INVALID_CREDENTIAL,
            ErrorCode.TOKEN_EXPIRED,
        }


def test_claims_rules_with_an_explicit_clock() -> None:
    claims = {"iss": ISS, "aud": AUD, "sub": "g", "tid": "t", "jti": "j", "iat": 1000, "nbf": 1000, "exp": 2000}
    assert check_claims(claims, now=1500, issuer=ISS, audience=AUD).expires_at == 2000
    check_claims(claims, now=2005, issuer=ISS, audience=AUD)  # within the clock-skew allowance
    with pytest.raises(CredentialRejected):
        check_claims(claims, now=2010, issuer=ISS, audience=AUD)
    with pytest.raises(CredentialRejected):
        check_claims({**claims, "exp": True}, now=1500, issuer=ISS, audience=AUD)


def test_a_key_past_its_not_after_no_longer_verifies(signer: Any) -> None:
    retired = {signer.kid: load_key(signer.state(not_after=datetime.now(UTC) - timedelta(seconds=1)))}
    assert "retired" in rejected(signer.token(), retired).message


def test_non_eddsa_signing_keys_are_not_loaded(signer: Any) -> None:
    with pytest.raises(ValueError, match="only EdDSA"):
        load_key(signer.state(alg="HS256"))
    with pytest.raises(ValueError):
        load_key(signer.state(jwk={"kty": "oct", "k": "c2VjcmV0"}))


# --- the authenticator: cached verification, revocation, API keys ------------------------------


def authenticator_with(signer: Any) -> tuple[Authenticator, PolicyCache]:
    cache = PolicyCache()
    cache.apply(signer.state())
    return Authenticator(cache, issuer=ISS, audience=AUD), cache


def test_a_verified_token_is_served_from_the_cache_until_its_jti_is_revoked(signer: Any) -> None:
    auth, cache = authenticator_with(signer)
    claims = signer.claims("grt_1", "tnt_1")
    token = signer.sign(claims)
    now = time.time()
    assert auth.authenticate(token, now).grant_id == "grt_1"
    assert auth.authenticate(token, now).grant_id == "grt_1"
    cache.apply(
        TokenRevoked(
            producer="auth",
            state_version=1,
            jti=claims["jti"],
            grant_id="grt_1",
            expires_at=datetime.now(UTC) + timedelta(minutes=15),
        )
    )
    with pytest.raises(CredentialRejected) as caught:
        auth.authenticate(token, now)
    assert caught.value.code is ErrorCode.TOKEN_REVOKED


def test_a_cached_token_expires_on_time(signer: Any) -> None:
    auth, _ = authenticator_with(signer)
    token = signer.token(ttl=60)
    now = time.time()
    auth.authenticate(token, now)
    with pytest.raises(CredentialRejected) as caught:
        auth.authenticate(token, now + 3600)
    assert caught.value.code is ErrorCode.TOKEN_EXPIRED


def test_a_replaced_signing_key_forces_a_fresh_verification(signer: Any, new_signer: Any) -> None:
    auth, cache = authenticator_with(signer)
    token = signer.token()
    auth.authenticate(token, time.time())
    rotated = new_signer(kid=signer.kid)  # same kid, new key material, newer version
    cache.apply(rotated.state(version=2))
    with pytest.raises(CredentialRejected):
        auth.authenticate(token, time.time())
    assert auth.authenticate(rotated.token(), time.time()).grant_id == "grt_1"


def test_missing_credential_is_refused_with_a_clear_message(signer: Any) -> None:
    auth, _ = authenticator_with(signer)
    with pytest.raises(CredentialRejected, match="Authorization: Bearer"):
        auth.authenticate(None, time.time())


def test_api_keys_resolve_by_sha256_and_stop_when_revoked(signer: Any) -> None:
    auth, cache = authenticator_with(signer)
    key = "tg_" + "k" * 40
    digest = hashlib.sha256(key.encode()).hexdigest()
    state = {"producer": "auth", "key_hash": digest, "key_prefix": "tg_kkkk", "grant_id": "grt_5", "tenant_id": "tnt_5"}
    cache.apply(ApiKeyState(**state, state_version=1, status=ApiKeyStatus.ACTIVE))
    assert auth.authenticate(key, time.time()).grant_id == "grt_5"
    with pytest.raises(CredentialRejected, match="not valid"):
        auth.authenticate("tg_" + "x" * 40, time.time())
    cache.apply(ApiKeyState(**state, state_version=2, status=ApiKeyStatus.REVOKED))
    with pytest.raises(CredentialRejected, match="revoked"):
        auth.authenticate(key, time.time())
