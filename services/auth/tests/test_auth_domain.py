"""Pure rules: grant validation and lifecycle, token claims, API keys, signing keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tollgate_auth.domain import (
    Grant,
    GrantRequest,
    SigningKey,
    TokenPolicy,
    api_key_state,
    current_signer,
    effective_status,
    grant_state,
    hash_api_key,
    jwks,
    new_api_key,
    new_grant,
    new_tenant,
    revoke,
    revoke_api_key,
    token_claims,
)
from tollgate_auth.domain.errors import GrantNotUsable, InvalidRequest
from tollgate_auth.domain.signing_keys import KeyStatus
from tollgate_contracts import ApiKeyStatus, Capability, GrantStatus

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = TokenPolicy(issuer="tollgate", audience="tollgate-proxy", default_ttl_seconds=900, max_ttl_seconds=3600)


def grant(**fields: Any) -> Grant:
    request = GrantRequest(**{"provider": "openai", "models": ["gpt-4o-mini"], **fields})
    return new_grant(request, grant_id="grt_1", tenant_id="tnt_1", now=NOW)


def invalid(**fields: Any) -> str:
    with pytest.raises(InvalidRequest) as caught:
        grant(**fields)
    return caught.value.message


def test_new_grant_is_active_version_one_with_defaults():
    g = new_grant(GrantRequest(provider="openai", models=["gpt-4o*"]), grant_id="grt_1", tenant_id="tnt_1", now=NOW)
    assert g.status is GrantStatus.ACTIVE
    assert g.version == 1
    assert g.capabilities == (Capability.CHAT,)
    assert g.budget_micro_usd is None
    assert g.expires_at is None


def test_anthropic_grants_default_to_the_messages_capability():
    g = new_grant(GrantRequest(provider="anthropic", models=["claude-*"]), grant_id="g", tenant_id="t", now=NOW)
    assert g.capabilities == (Capability.MESSAGES,)


@pytest.mark.parametrize(
    ("raw", "micro"),
    [("5", 5_000_000), ("0.25", 250_000), (" 1.5 ", 1_500_000), (3, 3_000_000), (0.1, 100_000), ("0", 0)],
)
def test_budget_in_dollars_becomes_micro_dollars(raw, micro):
    g = new_grant(GrantRequest(provider="openai", models=["m"], budget_usd=raw), grant_id="g", tenant_id="t", now=NOW)
    assert g.budget_micro_usd == micro


@pytest.mark.parametrize("raw", ["abc", "-1", "0.0000001", "NaN", "inf", "", True, float("inf"), "1e30"])
def test_a_bad_budget_is_refused_naming_the_field(raw):
    assert invalid(budget_usd=raw).startswith("budget_usd: ")


@pytest.mark.parametrize("seconds", [0, -5])
def test_expiry_must_be_in_the_future(seconds):
    assert invalid(expires_in_seconds=seconds) == "expires_in_seconds: must be greater than 0"


def test_expiry_is_counted_from_now():
    g = new_grant(
        GrantRequest(provider="openai", models=["m"], expires_in_seconds=60), grant_id="g", tenant_id="t", now=NOW
    )
    assert g.expires_at == NOW + timedelta(seconds=60)


@pytest.mark.parametrize("models", [[], [""], ["gpt 4"], "gpt-4o"])
def test_models_must_be_a_non_empty_list_of_names(models):
    assert invalid(models=models).startswith("models: ")


def test_duplicate_models_and_capabilities_are_dropped():
    g = grant(models=["a", "b", "a"], capabilities=["chat", "embeddings", "chat"])
    assert g.models == ("a", "b")
    assert g.capabilities == (Capability.CHAT, Capability.EMBEDDINGS)


@pytest.mark.parametrize("provider", ["OpenAI", "open ai", "", "1openai", "a.b", "x" * 64])
def test_provider_must_be_a_simple_lowercase_token(provider):
    assert invalid(provider=provider).startswith("provider: ")


def test_custom_providers_are_allowed():
    assert grant(provider="my-llm_2").provider == "my-llm_2"


@pytest.mark.parametrize("capabilities", [["teleport"], [], ["CHAT"]])
def test_capabilities_must_be_known(capabilities):
    assert invalid(capabilities=capabilities).startswith("capabilities: ")


@pytest.mark.parametrize(("field", "value"), [("rpm", 0), ("tpm", 0), ("max_requests", -1), ("rpm", 10**13)])
def test_limits_must_be_in_range(field, value):
    assert invalid(**{field: value}).startswith(f"{field}: ")


def test_revoking_bumps_the_version_and_stamps_the_time():
    g = grant()
    later = NOW + timedelta(minutes=5)
    revoked = revoke(g, later)
    assert revoked is not None
    assert (revoked.status, revoked.revoked_at, revoked.version, revoked.updated_at) == (
        GrantStatus.REVOKED,
        later,
        2,
        later,
    )


def test_revoking_twice_changes_nothing():
    revoked = revoke(grant(), NOW)
    assert revoked is not None
    assert revoke(revoked, NOW) is None


def test_an_active_grant_past_its_expiry_reads_as_expired():
    g = grant(expires_in_seconds=10)
    assert effective_status(g, NOW) is GrantStatus.ACTIVE
    assert effective_status(g, NOW + timedelta(seconds=10)) is GrantStatus.EXPIRED


def test_grant_state_carries_the_version_and_the_producer():
    g = revoke(grant(budget_usd="5"), NOW)
    assert g is not None
    state = grant_state(g, "auth")
    assert state.subject == "grant.state.v1.grt_1"
    assert (state.state_version, state.status, state.producer) == (2, GrantStatus.REVOKED, "auth")
    assert state.budget_micro_usd == 5_000_000


def test_token_claims_name_the_grant_and_tenant():
    claims = token_claims(grant(), now=NOW, ttl_seconds=None, jti="jti_1", policy=POLICY)
    issued = int(NOW.timestamp())
    assert claims == {
        "iss": "tollgate",
        "aud": "tollgate-proxy",
        "sub": "grt_1",
        "tid": "tnt_1",
        "jti": "jti_1",
        "iat": issued,
        "nbf": issued,
        "exp": issued + 900,
    }


def test_a_token_never_outlives_its_grant():
    g = grant(expires_in_seconds=60)
    claims = token_claims(g, now=NOW, ttl_seconds=600, jti="j", policy=POLICY)
    assert claims["exp"] == int(NOW.timestamp()) + 60


@pytest.mark.parametrize("ttl", [0, -1, 3601])
def test_token_lifetime_is_bounded(ttl):
    with pytest.raises(InvalidRequest, match="ttl_seconds"):
        token_claims(grant(), now=NOW, ttl_seconds=ttl, jti="j", policy=POLICY)


def test_no_token_for_a_revoked_grant():
    revoked = revoke(grant(), NOW)
    assert revoked is not None
    with pytest.raises(GrantNotUsable) as caught:
        token_claims(revoked, now=NOW, ttl_seconds=None, jti="j", policy=POLICY)
    assert caught.value.code == "grant_revoked"


def test_no_token_for_an_expired_grant():
    g = grant(expires_in_seconds=1)
    with pytest.raises(GrantNotUsable) as caught:
        token_claims(g, now=NOW + timedelta(seconds=2), ttl_seconds=None, jti="j", policy=POLICY)
    assert caught.value.code == "grant_expired"


def test_api_key_is_stored_as_its_sha256_with_a_short_prefix():
    key = "tg_" + "A" * 43
    api_key = new_api_key(grant(), key, key_id="key_1", now=NOW)
    assert api_key.key_hash == hash_api_key(key)
    assert len(api_key.key_hash) == 64
    assert api_key.key_prefix == "tg_AAAAAAAA"
    state = api_key_state(api_key, "auth")
    assert state.subject == f"apikey.state.v1.{api_key.key_hash}"
    assert key not in state.model_dump_json()


def test_api_keys_revoke_once():
    api_key = new_api_key(grant(), "tg_x" * 10, key_id="key_1", now=NOW)
    revoked = revoke_api_key(api_key, NOW)
    assert revoked is not None
    assert (revoked.status, revoked.version) == (ApiKeyStatus.REVOKED, 2)
    assert revoke_api_key(revoked, NOW) is None


def test_no_api_key_for_a_revoked_grant():
    revoked = revoke(grant(), NOW)
    assert revoked is not None
    with pytest.raises(GrantNotUsable):
        new_api_key(revoked, "tg_x", key_id="k", now=NOW)


def signing_key(kid: str, age_seconds: int, status: KeyStatus, not_after: datetime | None = None) -> SigningKey:
    created = NOW - timedelta(seconds=age_seconds)
    return SigningKey(
        kid=kid,
        alg="EdDSA",
        public_jwk={"kty": "OKP", "kid": kid},
        private_pem="PRIVATE",
        status=status,
        created_at=created,
        updated_at=created,
        not_after=not_after,
        version=1,
    )


def test_the_newest_active_key_signs_and_retired_keys_verify_until_their_end():
    old = signing_key("old", 100, KeyStatus.RETIRED, not_after=NOW + timedelta(minutes=5))
    gone = signing_key("gone", 200, KeyStatus.RETIRED, not_after=NOW)
    a = signing_key("a", 50, KeyStatus.ACTIVE)
    b = signing_key("b", 10, KeyStatus.ACTIVE)
    assert current_signer([old, a, b, gone]) == b
    assert [k["kid"] for k in jwks([old, gone, a, b], NOW)["keys"]] == ["old", "a", "b"]


def test_private_key_material_stays_out_of_reprs():
    assert "PRIVATE" not in repr(signing_key("k", 0, KeyStatus.ACTIVE))


def test_tenant_names_are_trimmed_and_must_not_be_blank():
    assert new_tenant("  acme ", tenant_id="tnt_1", now=NOW).name == "acme"
    with pytest.raises(InvalidRequest):
        new_tenant("   ", tenant_id="tnt_1", now=NOW)
