"""The owner narrows what an app asked for and never widens it; the template fills what the app left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tollgate_auth.domain import new_grant
from tollgate_auth.domain.consent import (
    DEFAULT_TEMPLATE,
    AccessDetails,
    BudgetPeriod,
    OwnerChoice,
    Template,
    needs_provider_and_models,
    with_template,
)
from tollgate_auth.domain.errors import InvalidRequest, NotNarrower
from tollgate_auth.domain.narrowing import grant_request_from, narrow
from tollgate_auth.domain.patterns import covered, uncovered
from tollgate_contracts import Capability, GrantStatus

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ASKED = AccessDetails(
    provider="openai",
    models=("gpt-4o*", "o3-mini"),
    capabilities=(Capability.CHAT, Capability.EMBEDDINGS),
    budget_micro_usd=5_000_000,
    budget_period=BudgetPeriod.MONTH,
    max_requests=1000,
    rpm=60,
    tpm=100_000,
    expires_in_seconds=30 * 86400,
    reason="Summarise my notes",
)
SCOPE_ONLY = AccessDetails()
TEMPLATE = Template(
    provider="openai",
    models=("gpt-4o-mini",),
    budget_micro_usd=2_000_000,
    budget_period=BudgetPeriod.MONTH,
    rpm=30,
    expires_in_seconds=7 * 86400,
)


def widening(choice: OwnerChoice, asked: AccessDetails = ASKED) -> str:
    with pytest.raises(NotNarrower) as caught:
        narrow(asked, choice)
    assert caught.value.code == "invalid_request"
    return caught.value.message


def test_approving_unchanged_grants_what_was_asked():
    assert narrow(ASKED, OwnerChoice()) == ASKED


def test_the_owner_narrows_every_field_at_once():
    granted = narrow(
        ASKED,
        OwnerChoice(
            models=("gpt-4o-mini",),
            capabilities=(Capability.CHAT,),
            budget_micro_usd=1_000_000,
            budget_period=BudgetPeriod.TOTAL,
            max_requests=10,
            rpm=5,
            tpm=1000,
            expires_in_seconds=3600,
        ),
    )
    assert granted == AccessDetails(
        provider="openai",
        models=("gpt-4o-mini",),
        capabilities=(Capability.CHAT,),
        budget_micro_usd=1_000_000,
        budget_period=BudgetPeriod.TOTAL,
        max_requests=10,
        rpm=5,
        tpm=1000,
        expires_in_seconds=3600,
        reason="Summarise my notes",
    )


def test_equal_values_are_not_a_widening():
    choice = OwnerChoice(provider="openai", models=ASKED.models, budget_micro_usd=5_000_000, max_requests=1000)
    assert narrow(ASKED, choice) == ASKED


@pytest.mark.parametrize(
    ("choice", "named"),
    [
        (OwnerChoice(provider="anthropic"), "provider"),
        (OwnerChoice(models=("gpt-5",)), "models"),
        (OwnerChoice(models=("gpt-4o-mini", "*")), "models"),
        (OwnerChoice(models=("gpt-*",)), "models"),
        (OwnerChoice(capabilities=(Capability.IMAGES,)), "capabilities"),
        (OwnerChoice(budget_micro_usd=5_000_001), "budget"),
        (OwnerChoice(budget_period=BudgetPeriod.DAY), "budget"),
        (OwnerChoice(budget_micro_usd=1_000_000, budget_period=BudgetPeriod.DAY), "budget"),
        (OwnerChoice(max_requests=1001), "max_requests"),
        (OwnerChoice(rpm=61), "rpm"),
        (OwnerChoice(tpm=100_001), "tpm"),
        (OwnerChoice(expires_in_seconds=30 * 86400 + 1), "expires_in"),
    ],
)
def test_widening_any_field_is_refused_with_its_name(choice: OwnerChoice, named: str):
    assert widening(choice).startswith(f"{named}:")


def test_the_budget_message_shows_dollars():
    assert widening(OwnerChoice(budget_micro_usd=7_500_000)) == "budget: $7.50 is more than the $5.00 asked for"


@pytest.mark.parametrize(
    ("chosen", "ok"),
    [
        ("gpt-4o", True),
        ("gpt-4o-mini", True),
        ("gpt-4o-*", True),
        ("gpt-4o?", True),
        ("gpt-4o*", True),
        ("o3-mini", True),
        ("o3-*", False),
        ("gpt-4*", False),
        ("*", False),
        ("?pt-4o", False),
        ("gpt-4o[-_]mini", False),  # a character class is compared by equality only
    ],
)
def test_a_chosen_model_pattern_must_be_covered_by_an_asked_one(chosen: str, ok: bool):
    if ok:
        assert narrow(ASKED, OwnerChoice(models=(chosen,))).models == (chosen,)
    else:
        assert widening(OwnerChoice(models=(chosen,))).startswith("models:")


@pytest.mark.parametrize(
    ("pattern", "wider", "expected"),
    [
        ("?*", "*?", True),
        ("*?", "?*", True),
        ("a*b*c", "a*c", True),
        ("a*c", "a*b*c", False),
        ("*a*", "*a*a*", False),
        ("*a*a*", "*a*", True),
        ("gpt-?", "gpt-*", True),
        ("gpt-*", "gpt-?", False),
        ("claude-3-5-*", "claude-*", True),
        ("claude-*", "claude-3-*", False),
        ("**", "*", True),
        ("*", "**", True),
        ("[ab]x", "*", True),
        ("[ab]x", "[ab]x", True),
        ("[ab]x", "*x", False),
        ("ax", "[ab]x", True),
    ],
)
def test_glob_coverage_is_exact_for_star_and_question_mark(pattern: str, wider: str, expected: bool):
    assert covered(pattern, [wider]) is expected


def test_adversarial_patterns_end_in_a_bounded_refusal_not_a_hang():
    pattern = "*a" * 60 + "*"
    wider = "*" + "?*" * 60 + "b"
    assert covered(pattern, [wider]) is False
    assert uncovered(["a*", "b"], ["a*"]) == ("b",)


def test_without_an_asked_budget_the_owner_may_set_any():
    asked = AccessDetails(provider="openai", models=("gpt-4o-mini",))
    granted = narrow(asked, OwnerChoice(budget_micro_usd=50_000_000, budget_period=BudgetPeriod.DAY))
    assert (granted.budget_micro_usd, granted.budget_period) == (50_000_000, BudgetPeriod.DAY)


def test_a_budget_period_alone_may_be_narrowed_keeping_the_amount():
    granted = narrow(ASKED, OwnerChoice(budget_period=BudgetPeriod.TOTAL))
    assert (granted.budget_micro_usd, granted.budget_period) == (5_000_000, BudgetPeriod.TOTAL)


@pytest.mark.parametrize(
    "choice",
    [
        OwnerChoice(provider="Not A Provider"),
        OwnerChoice(models=()),
        OwnerChoice(budget_micro_usd=-1),
        OwnerChoice(max_requests=-1),
        OwnerChoice(rpm=0),
        OwnerChoice(expires_in_seconds=0),
    ],
)
def test_malformed_choices_are_invalid_requests(choice: OwnerChoice):
    with pytest.raises(InvalidRequest):
        narrow(AccessDetails(), choice)


def test_a_scope_only_request_needs_provider_and_models():
    assert needs_provider_and_models(SCOPE_ONLY)
    assert needs_provider_and_models(AccessDetails(provider="openai"))
    assert needs_provider_and_models(AccessDetails(models=("gpt-4o",)))
    assert not needs_provider_and_models(ASKED)


def test_the_owner_supplies_provider_and_models_when_none_were_asked():
    granted = narrow(SCOPE_ONLY, OwnerChoice(provider="anthropic", models=("claude-*",)))
    assert granted.provider == "anthropic"
    assert granted.models == ("claude-*",)
    assert granted.capabilities == (Capability.MESSAGES,)  # the provider's default


def test_a_provider_may_be_chosen_when_only_models_were_asked():
    granted = narrow(AccessDetails(models=("gpt-4o*",)), OwnerChoice(provider="openai", models=("gpt-4o-mini",)))
    assert (granted.provider, granted.models) == ("openai", ("gpt-4o-mini",))


def test_without_provider_or_models_nothing_can_be_granted():
    with pytest.raises(InvalidRequest, match="provider"):
        narrow(SCOPE_ONLY, OwnerChoice(models=("gpt-4o",)))
    with pytest.raises(InvalidRequest, match="models"):
        narrow(SCOPE_ONLY, OwnerChoice(provider="openai"))


def test_the_template_fills_only_what_the_app_did_not_say():
    templated = with_template(AccessDetails(budget_micro_usd=9_000_000, reason="r"), TEMPLATE)
    assert templated == AccessDetails(
        provider="openai",
        models=("gpt-4o-mini",),
        budget_micro_usd=9_000_000,
        budget_period=BudgetPeriod.TOTAL,  # the app's budget came with its own (default) period
        rpm=30,
        expires_in_seconds=7 * 86400,
        reason="r",
    )
    assert with_template(ASKED, TEMPLATE) == ASKED


def test_the_default_template_proposes_a_small_budget_and_an_expiry():
    templated = with_template(SCOPE_ONLY, DEFAULT_TEMPLATE)
    assert templated.budget_micro_usd == 5_000_000
    assert templated.expires_in_seconds == 30 * 86400
    assert needs_provider_and_models(templated)


def test_the_template_is_a_suggestion_the_owner_may_exceed_where_the_app_said_nothing():
    granted = narrow(SCOPE_ONLY, OwnerChoice(budget_micro_usd=20_000_000, rpm=100), template=TEMPLATE)
    assert (granted.provider, granted.models) == ("openai", ("gpt-4o-mini",))
    assert (granted.budget_micro_usd, granted.rpm, granted.expires_in_seconds) == (20_000_000, 100, 7 * 86400)


def test_a_templated_ask_makes_the_template_a_ceiling():
    templated = with_template(SCOPE_ONLY, TEMPLATE)
    assert widening(OwnerChoice(budget_micro_usd=20_000_000), asked=templated).startswith("budget:")
    assert narrow(templated, OwnerChoice(models=("gpt-4o-mini",))).models == ("gpt-4o-mini",)


def test_the_template_never_lifts_what_the_app_asked():
    asked = AccessDetails(provider="openai", models=("gpt-4o-mini",), budget_micro_usd=1_000_000)
    assert widening(OwnerChoice(budget_micro_usd=2_000_000), asked=asked).startswith("budget:")
    assert narrow(asked, OwnerChoice(), template=TEMPLATE).budget_micro_usd == 1_000_000


def test_the_narrowed_details_make_the_grant_new_grant_creates():
    granted = narrow(ASKED, OwnerChoice(models=("gpt-4o-mini",), budget_micro_usd=1_250_000, expires_in_seconds=3600))
    grant = new_grant(grant_request_from(granted, app_name="Notes"), grant_id="grt_1", tenant_id="tnt_1", now=NOW)
    assert grant.status is GrantStatus.ACTIVE
    assert grant.app_name == "Notes"
    assert (grant.provider, grant.models) == ("openai", ("gpt-4o-mini",))
    assert grant.capabilities == (Capability.CHAT, Capability.EMBEDDINGS)
    assert grant.budget_micro_usd == 1_250_000
    assert (grant.max_requests, grant.rpm, grant.tpm) == (1000, 60, 100_000)
    assert grant.expires_at == NOW + timedelta(seconds=3600)


def test_a_grant_request_needs_provider_and_models():
    with pytest.raises(InvalidRequest):
        grant_request_from(AccessDetails(provider="openai"), app_name=None)
