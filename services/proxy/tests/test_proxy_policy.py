"""Policy decisions against cached grant, budget and breaker state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tollgate_contracts import (
    BreakerState,
    BreakerStatus,
    Capability,
    ErrorCode,
    GrantState,
    GrantStatus,
)
from tollgate_proxy.domain.errors import Forbidden, LimitReached, ProxyError, Unavailable
from tollgate_proxy.domain.policy import evaluate, model_allowed
from tollgate_proxy.testing import make_budget, make_grant

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def grant(**changes: Any) -> GrantState:
    return make_grant(**{"models": ("gpt-4o-mini", "gpt-4.1-*"), "created_at": NOW - timedelta(days=1), **changes})


budget = make_budget


def refusal(**kwargs: Any) -> ProxyError:
    args: dict[str, Any] = {"capability": Capability.CHAT, "model": "gpt-4o-mini", "now": NOW}
    target = kwargs.pop("grant", grant())
    args.update(kwargs)
    with pytest.raises(ProxyError) as caught:
        evaluate(target, **args)
    return caught.value


def test_an_active_grant_lets_an_allowed_model_through() -> None:
    evaluate(grant(), capability=Capability.CHAT, model="gpt-4o-mini", now=NOW)
    evaluate(grant(), capability=Capability.CHAT, model="gpt-4.1-nano", now=NOW)


@pytest.mark.parametrize(
    ("model", "patterns", "allowed"),
    [
        ("gpt-4o-mini", ["gpt-4o-mini"], True),
        ("gpt-4o", ["gpt-4o-mini"], False),
        ("gpt-4o-mini-2024-07-18", ["gpt-4o-mini*"], True),
        ("claude-3-5-haiku-latest", ["claude-*-haiku-*"], True),
        ("gpt-4o", ["gpt-4?"], True),
        ("GPT-4O", ["gpt-4o"], False),
        ("anything", ["*"], True),
        ("x", [], False),
    ],
)
def test_model_allowlist_globs(model: str, patterns: list[str], allowed: bool) -> None:
    assert model_allowed(model, patterns) is allowed


def test_a_model_outside_the_allowlist_is_forbidden() -> None:
    error = refusal(model="gpt-4o")
    assert isinstance(error, Forbidden)
    assert error.code is ErrorCode.MODEL_NOT_ALLOWED


def test_a_capability_the_grant_lacks_is_forbidden() -> None:
    error = refusal(capability=Capability.EMBEDDINGS)
    assert isinstance(error, Forbidden)
    assert error.code is ErrorCode.CAPABILITY_NOT_ALLOWED


def test_a_revoked_grant_is_forbidden() -> None:
    error = refusal(grant=grant(status=GrantStatus.REVOKED, revoked_at=NOW))
    assert (error.status, error.code) == (403, ErrorCode.GRANT_REVOKED)


def test_a_revoked_at_time_is_enough_to_refuse() -> None:
    assert refusal(grant=grant(revoked_at=NOW - timedelta(seconds=1))).code is ErrorCode.GRANT_REVOKED


def test_a_grant_past_its_expiry_is_forbidden_even_while_still_marked_active() -> None:
    error = refusal(grant=grant(expires_at=NOW))
    assert (error.status, error.code) == (403, ErrorCode.GRANT_EXPIRED)
    evaluate(grant(expires_at=NOW + timedelta(seconds=1)), capability=Capability.CHAT, model="gpt-4o-mini", now=NOW)


@pytest.mark.parametrize("status", [GrantStatus.PENDING, GrantStatus.DENIED])
def test_a_grant_that_is_not_active_is_forbidden(status: GrantStatus) -> None:
    assert refusal(grant=grant(status=status)).status == 403


def test_an_exhausted_budget_is_429_and_not_worth_retrying() -> None:
    error = refusal(budget=budget(exhausted=True))
    assert isinstance(error, LimitReached)
    assert error.code is ErrorCode.BUDGET_EXHAUSTED
    assert error.should_retry is False


def test_spend_at_the_grant_limit_is_exhausted_before_metering_says_so() -> None:
    error = refusal(grant=grant(budget_micro_usd=5_000_000), budget=budget(spent_micro_usd=5_000_000))
    assert error.code is ErrorCode.BUDGET_EXHAUSTED
    evaluate(
        grant(budget_micro_usd=5_000_000),
        capability=Capability.CHAT,
        model="gpt-4o-mini",
        now=NOW,
        budget=budget(spent_micro_usd=4_999_999),
    )


def test_the_request_cap_counts_metered_and_not_yet_metered_requests() -> None:
    capped = grant(max_requests=3)
    evaluate(capped, capability=Capability.CHAT, model="gpt-4o-mini", now=NOW, budget=budget(requests=2))
    evaluate(capped, capability=Capability.CHAT, model="gpt-4o-mini", now=NOW, unreported_requests=2)
    error = refusal(grant=capped, budget=budget(requests=2), unreported_requests=1)
    assert (error.status, error.code) == (429, ErrorCode.REQUEST_LIMIT_REACHED)


def test_an_open_breaker_on_the_grant_or_tenant_is_503_with_retry_after() -> None:
    open_breaker = BreakerState(
        producer="test",
        state_version=1,
        scope="tenant-tnt_1",
        status=BreakerStatus.OPEN,
        until=NOW + timedelta(seconds=30),
    )
    error = refusal(breakers=[open_breaker])
    assert isinstance(error, Unavailable)
    assert error.code is ErrorCode.BREAKER_OPEN
    assert error.retry_after == 31


def test_a_breaker_past_its_until_or_half_open_lets_requests_through() -> None:
    lapsed = BreakerState(
        producer="t", state_version=1, scope="grant-grt_1", status=BreakerStatus.OPEN, until=NOW - timedelta(seconds=1)
    )
    half = BreakerState(producer="t", state_version=2, scope="grant-grt_1", status=BreakerStatus.HALF_OPEN)
    evaluate(grant(), capability=Capability.CHAT, model="gpt-4o-mini", now=NOW, breakers=[lapsed, half])


def test_checks_run_in_order_grant_before_model() -> None:
    assert refusal(grant=grant(status=GrantStatus.REVOKED), model="nope").code is ErrorCode.GRANT_REVOKED
