"""When a grant is exhausted: spend reaches the money cap, or requests reach the request cap."""

from __future__ import annotations

from tollgate_metering.domain.budget import Account, Limits, is_exhausted
from tollgate_metering.domain.usage import Totals


def test_no_caps_is_never_exhausted() -> None:
    assert not is_exhausted(Limits(), Totals(requests=10**9, cost_micro_usd=10**15))


def test_spend_below_the_budget_is_not_exhausted() -> None:
    assert not is_exhausted(Limits(budget_micro_usd=1_000), Totals(requests=1, cost_micro_usd=999))


def test_spend_reaching_the_budget_exactly_is_exhausted() -> None:
    assert is_exhausted(Limits(budget_micro_usd=1_000), Totals(requests=1, cost_micro_usd=1_000))


def test_spend_past_the_budget_is_exhausted() -> None:
    assert is_exhausted(Limits(budget_micro_usd=1_000), Totals(requests=1, cost_micro_usd=1_001))


def test_a_zero_budget_is_exhausted_before_any_use() -> None:
    assert is_exhausted(Limits(budget_micro_usd=0), Totals())


def test_reaching_the_request_cap_is_exhausted_whatever_the_spend() -> None:
    assert not is_exhausted(Limits(max_requests=3), Totals(requests=2))
    assert is_exhausted(Limits(budget_micro_usd=10**9, max_requests=3), Totals(requests=3, cost_micro_usd=1))


def test_remaining_budget_never_goes_negative() -> None:
    account = Account("grt_1", Limits(budget_micro_usd=100), Totals(requests=1, cost_micro_usd=150), version=2)
    assert account.exhausted
    assert account.remaining_micro_usd == 0
    assert Account("grt_2", Limits(), Totals(), version=0).remaining_micro_usd is None
