"""Sub-grants (token exchange, RFC 8693): a child is never wider than its parent; silent fields inherit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tollgate_auth.domain import Grant, GrantRequest, grant_state, new_grant, revoke
from tollgate_auth.domain.consent import (
    AccessDetails,
    BudgetPeriod,
    child_details,
    details_json,
    grant_details,
    grant_request_from,
)
from tollgate_auth.domain.errors import ExceedsParent, InvalidRequest
from tollgate_contracts import Capability

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = 86400


def parent(**fields: Any) -> Grant:
    request: dict[str, Any] = {
        "provider": "openai",
        "models": ["gpt-4o*", "o3-mini"],
        "capabilities": ["chat", "embeddings"],
        "budget_usd": "10.00",
        "budget_period": BudgetPeriod.MONTH,
        "max_requests": 1000,
        "rpm": 60,
        "tpm": 100_000,
        "expires_in_seconds": 7 * DAY,
        **fields,
    }
    return new_grant(GrantRequest(**request), grant_id="grt_parent", tenant_id="tnt_1", now=NOW)


def exceeds(asked: AccessDetails, *, grant: Grant | None = None, remaining: int | None = None) -> str:
    with pytest.raises(ExceedsParent) as caught:
        child_details(grant or parent(), asked, NOW + timedelta(hours=1), parent_remaining_micro_usd=remaining)
    assert caught.value.code == "invalid_request"
    assert isinstance(caught.value, InvalidRequest)
    return caught.value.message


def test_a_silent_child_inherits_everything_the_parent_has_left():
    child = child_details(parent(), AccessDetails(reason="sub-agent"), NOW + timedelta(hours=1))
    assert child == AccessDetails(
        provider="openai",
        models=("gpt-4o*", "o3-mini"),
        capabilities=(Capability.CHAT, Capability.EMBEDDINGS),
        budget_micro_usd=10_000_000,
        budget_period=BudgetPeriod.MONTH,
        max_requests=1000,
        rpm=60,
        tpm=100_000,
        expires_in_seconds=7 * DAY - 3600,
        reason="sub-agent",
    )


def test_a_silent_budget_is_what_the_parent_may_still_spend():
    child = child_details(parent(), AccessDetails(), NOW, parent_remaining_micro_usd=2_500_000)
    assert child.budget_micro_usd == 2_500_000


def test_a_narrower_child_is_granted_as_asked():
    asked = AccessDetails(
        provider="openai",
        models=("gpt-4o-mini",),
        capabilities=(Capability.CHAT,),
        budget_micro_usd=1_000_000,
        budget_period=BudgetPeriod.TOTAL,
        max_requests=10,
        rpm=6,
        tpm=1000,
        expires_in_seconds=3600,
    )
    assert child_details(parent(), asked, NOW, parent_remaining_micro_usd=5_000_000) == asked


def test_a_child_may_equal_its_parent():
    whole = grant_details(parent(), NOW)
    assert child_details(parent(), whole, NOW) == whole


@pytest.mark.parametrize(
    ("asked", "named"),
    [
        (AccessDetails(provider="anthropic"), "provider"),
        (AccessDetails(models=("gpt-5",)), "models"),
        (AccessDetails(models=("gpt-*",)), "models"),
        (AccessDetails(models=("*",)), "models"),
        (AccessDetails(capabilities=(Capability.IMAGES,)), "capabilities"),
        (AccessDetails(budget_micro_usd=10_000_001), "budget"),
        (AccessDetails(budget_micro_usd=1_000_000, budget_period=BudgetPeriod.DAY), "budget"),
        (AccessDetails(max_requests=1001), "max_requests"),
        (AccessDetails(rpm=61), "rpm"),
        (AccessDetails(tpm=100_001), "tpm"),
        (AccessDetails(expires_in_seconds=7 * DAY), "expires_in"),
    ],
)
def test_asking_for_more_than_the_parent_is_refused_with_invalid_request(asked: AccessDetails, named: str):
    assert exceeds(asked).startswith(f"{named}:")


def test_a_sub_budget_above_what_the_parent_has_left_is_refused():
    message = exceeds(AccessDetails(budget_micro_usd=3_000_000), remaining=2_000_000)
    assert message == "budget: $3.00 is more than the $2.00 the parent grant has left"


def test_a_parent_without_limits_bounds_only_models_and_expiry():
    free = parent(budget_usd=None, max_requests=None, rpm=None, tpm=None, expires_in_seconds=None)
    asked = AccessDetails(budget_micro_usd=50_000_000, budget_period=BudgetPeriod.DAY, rpm=1000)
    child = child_details(free, asked, NOW)
    assert (child.budget_micro_usd, child.budget_period, child.rpm) == (50_000_000, BudgetPeriod.DAY, 1000)
    assert child.expires_in_seconds is None
    assert exceeds(AccessDetails(models=("claude-*",)), grant=free).startswith("models:")


def test_a_child_ends_no_later_than_its_parent():
    at = NOW + timedelta(hours=1)
    left = 7 * DAY - 3600
    assert child_details(parent(), AccessDetails(expires_in_seconds=left), at).expires_in_seconds == left
    assert exceeds(AccessDetails(expires_in_seconds=left + 1)).startswith("expires_in:")


@pytest.mark.parametrize(
    "make",
    [
        lambda g: revoke(g, NOW),
        lambda g: replace(g, expires_at=NOW),
    ],
)
def test_a_revoked_or_expired_parent_cannot_be_exchanged(make: Any):
    unusable = make(parent())
    assert "cannot be exchanged" in exceeds(AccessDetails(), grant=unusable)


def test_the_child_grant_records_its_parent_and_publishes_it():
    p = parent()
    child = child_details(p, AccessDetails(models=("gpt-4o-mini",)), NOW, parent_remaining_micro_usd=4_000_000)
    request = grant_request_from(child, app_name="Notes sub-agent", parent_grant_id=p.id)
    grant = new_grant(request, grant_id="grt_child", tenant_id=p.tenant_id, now=NOW)
    assert grant.parent_grant_id == "grt_parent"
    assert (grant.budget_micro_usd, grant.budget_period) == (4_000_000, BudgetPeriod.MONTH)  # counted as the parent's
    state = grant_state(grant, producer="auth")
    assert (state.parent_grant_id, state.budget_period) == ("grt_parent", BudgetPeriod.MONTH)
    assert state.expires_at == p.expires_at


def test_a_grant_reads_back_as_details_for_the_token_response():
    details = grant_details(parent(), NOW + timedelta(days=1))
    assert details_json(details) == [
        {
            "type": "tollgate_ai_access",
            "provider": "openai",
            "models": ["gpt-4o*", "o3-mini"],
            "capabilities": ["chat", "embeddings"],
            "budget": {"amount": "10.00", "currency": "USD", "period": "month"},
            "max_requests": 1000,
            "rpm": 60,
            "tpm": 100_000,
            "expires_in": 6 * DAY,
        }
    ]
    assert grant_details(parent(), NOW + timedelta(days=8)).expires_in_seconds == 0
    assert grant_details(parent(expires_in_seconds=None), NOW).expires_in_seconds is None
