"""The policy cache keeps the highest state version of each entity and indexes what requests need."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tollgate_contracts import (
    BudgetState,
    Capability,
    CredentialState,
    CredentialStatus,
    ErrorCode,
    GrantStatus,
    SigningKeyStatus,
)
from tollgate_proxy.domain.errors import LimitReached
from tollgate_proxy.domain.ownership import service_of
from tollgate_proxy.policy_cache import PolicyCache
from tollgate_proxy.testing import (
    make_api_key,
    make_breaker,
    make_budget,
    make_credential,
    make_grant,
    make_revocation,
)

NOW = datetime.now(UTC)


def test_the_highest_version_wins_whatever_the_arrival_order(grant_state: Callable[..., Any]) -> None:
    cache = PolicyCache()
    assert cache.apply(grant_state(state_version=2, status=GrantStatus.REVOKED))
    assert not cache.apply(grant_state(state_version=1))
    assert not cache.apply(grant_state(state_version=2))
    assert cache.grants["grt_1"].status is GrantStatus.REVOKED
    assert cache.apply(grant_state(state_version=3))
    assert cache.grants["grt_1"].state_version == 3


def test_the_newest_active_credential_of_a_tenant_and_provider_is_used(
    credential_state: Callable[..., CredentialState],
) -> None:
    cache = PolicyCache()
    cache.apply(credential_state(credential_id="crd_01A"))
    cache.apply(credential_state(credential_id="crd_01B"))
    cache.apply(credential_state(credential_id="crd_01C", provider="anthropic", api_style="anthropic"))
    assert cache.credential_for("tnt_1", "openai").credential_id == "crd_01B"  # type: ignore[union-attr]
    cache.apply(credential_state(credential_id="crd_01B", state_version=2, status=CredentialStatus.DELETED))
    assert cache.credential_for("tnt_1", "openai").credential_id == "crd_01A"  # type: ignore[union-attr]
    cache.apply(credential_state(credential_id="crd_01A", state_version=2, status=CredentialStatus.DISABLED))
    assert cache.credential_for("tnt_1", "openai") is None
    assert cache.credential_for("tnt_2", "openai") is None
    assert cache.credential_for("tnt_1", "anthropic").credential_id == "crd_01C"  # type: ignore[union-attr]


def test_credential_listeners_hear_only_newer_states(credential_state: Callable[..., CredentialState]) -> None:
    cache = PolicyCache()
    heard: list[int] = []
    cache.on_credential_change(lambda state: heard.append(state.state_version))
    cache.apply(credential_state(state_version=1))
    cache.apply(credential_state(state_version=1))
    cache.apply(credential_state(state_version=2))
    assert heard == [1, 2]


def test_a_signing_key_that_cannot_verify_is_kept_out_of_the_key_set(signer: Any) -> None:
    cache = PolicyCache()
    cache.apply(signer.state(version=1))
    assert signer.kid in cache.verification_keys
    cache.apply(signer.state(version=2, alg="RS256"))
    assert signer.kid not in cache.verification_keys
    cache.apply(signer.state(version=3, status=SigningKeyStatus.RETIRED))
    assert signer.kid in cache.verification_keys


def test_requests_not_yet_metered_count_against_the_cap_until_a_budget_state_covers_them(
    grant_state: Callable[..., Any],
) -> None:
    cache = PolicyCache()
    grant = grant_state(max_requests=2)
    cache.apply(grant)
    cache.check(grant, Capability.CHAT, "gpt-4o-mini", NOW)
    cache.note_request("grt_1")
    cache.check(grant, Capability.CHAT, "gpt-4o-mini", NOW)
    cache.note_request("grt_1")
    with pytest.raises(LimitReached):
        cache.check(grant, Capability.CHAT, "gpt-4o-mini", NOW)
    budget = {"producer": "metering", "grant_id": "grt_1", "spent_micro_usd": 10, "exhausted": False}
    cache.apply(BudgetState(**budget, state_version=1, requests=1))  # metering has seen one of the two so far
    cache.check(grant, Capability.CHAT, "gpt-4o-mini", NOW)
    cache.apply(BudgetState(**budget, state_version=2, requests=2, max_requests=2))
    with pytest.raises(LimitReached) as caught:
        cache.check(grant, Capability.CHAT, "gpt-4o-mini", NOW)
    assert caught.value.code is ErrorCode.REQUEST_LIMIT_REACHED


def test_breakers_for_the_grant_and_its_tenant_apply(grant_state: Callable[..., Any]) -> None:
    from tollgate_contracts import BreakerState, BreakerStatus

    cache = PolicyCache()
    grant = grant_state()
    cache.apply(
        BreakerState(
            producer="metering",
            state_version=1,
            scope="tenant-tnt_1",
            status=BreakerStatus.OPEN,
            until=NOW + timedelta(1),
        )
    )
    with pytest.raises(Exception, match="breaker"):
        cache.check(grant, Capability.CHAT, "gpt-4o-mini", NOW)


# --- producer ownership: only a subject's owner changes it ------------------------------------------------


def test_a_state_from_a_service_that_does_not_own_its_subject_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    cache = PolicyCache()
    revoked = make_grant(state_version=3, status=GrantStatus.REVOKED)
    assert cache.apply(revoked)
    # The attack of issue 6: a higher version with every model, from an identity that may publish on the bus.
    forged = make_grant(state_version=99, status=GrantStatus.ACTIVE, models=("*",), producer="metering")
    with caplog.at_level(logging.WARNING, logger="tollgate_proxy.policy_cache"):
        assert not cache.apply(forged)
        assert not cache.apply(make_grant(state_version=100, producer="proxy/prx_evil"))
    assert cache.grants["grt_1"] is revoked
    assert cache.foreign_states == 2
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings  # once per subject
    assert "grant.state.v1.grt_1" in warnings[0] and "'metering'" in warnings[0] and "only auth" in warnings[0]


@pytest.mark.parametrize(
    ("state", "owner", "impostor"),
    [
        (make_grant(), "auth", "keyvault"),
        (make_api_key("tg_" + "e5" * 20), "auth", "metering"),
        (make_revocation("jti_1"), "auth", "proxy/prx_1"),
        (make_credential(), "keyvault", "auth"),
        (make_budget(), "metering", "auth"),
        (make_breaker(), "metering", "keyvault"),
    ],
)
def test_each_kind_of_state_is_taken_only_from_its_owner(state: Any, owner: str, impostor: str) -> None:
    cache = PolicyCache()
    assert not cache.apply(state.model_copy(update={"producer": impostor}))
    assert not cache.apply(state.model_copy(update={"producer": owner + "x"}))  # a prefix is not the service
    assert cache.apply(state.model_copy(update={"producer": f"{owner}/replica-2"}))
    assert cache.foreign_states == 2


def test_a_signing_key_from_another_service_is_not_trusted(signer: Any) -> None:
    cache = PolicyCache()
    assert not cache.apply(signer.state(producer="keyvault"))
    assert signer.kid not in cache.verification_keys
    assert cache.apply(signer.state(producer="auth"))
    assert signer.kid in cache.verification_keys


def test_the_service_part_of_a_producer() -> None:
    assert [service_of(p) for p in ("auth", "auth/a1", "proxy/prx_1/x", "")] == ["auth", "auth", "proxy", ""]
