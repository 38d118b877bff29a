"""`authorization_details` of type `tollgate_ai_access` (RFC 9396): what is accepted, what is refused, round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tollgate_auth.domain.authorization_details import MAX_DETAILS_CHARS, details_json, parse_authorization_details
from tollgate_auth.domain.consent import AccessDetails, BudgetPeriod
from tollgate_auth.domain.errors import InvalidAuthorizationDetails, InvalidRequest
from tollgate_contracts import Capability

FULL = {
    "type": "tollgate_ai_access",
    "provider": "openai",
    "models": ["gpt-4o-mini", "gpt-4o*"],
    "capabilities": ["chat", "embeddings"],
    "budget": {"amount": "5.00", "currency": "USD", "period": "month"},
    "max_requests": 1000,
    "rpm": 60,
    "tpm": 100_000,
    "expires_in": 2_592_000,
    "reason": "Summarise my notes",
}


def entry(**fields: Any) -> list[dict[str, Any]]:
    return [{"type": "tollgate_ai_access", **fields}]


def refused(raw: object) -> str:
    with pytest.raises(InvalidAuthorizationDetails) as caught:
        parse_authorization_details(raw)
    assert caught.value.code == "invalid_authorization_details"
    return caught.value.message


def test_a_full_entry_is_parsed_into_access_details():
    details = parse_authorization_details([FULL])
    assert details == AccessDetails(
        provider="openai",
        models=("gpt-4o-mini", "gpt-4o*"),
        capabilities=(Capability.CHAT, Capability.EMBEDDINGS),
        budget_micro_usd=5_000_000,
        budget_period=BudgetPeriod.MONTH,
        max_requests=1000,
        rpm=60,
        tpm=100_000,
        expires_in_seconds=2_592_000,
        reason="Summarise my notes",
    )


def test_the_string_form_of_a_form_encoded_parameter_is_accepted():
    assert parse_authorization_details(json.dumps([FULL])) == parse_authorization_details([FULL])


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_an_absent_parameter_is_none(raw: object):
    assert parse_authorization_details(raw) is None


def test_an_entry_with_only_a_type_leaves_every_choice_to_the_owner():
    assert parse_authorization_details(entry()) == AccessDetails()


def test_an_unset_budget_period_is_total():
    details = parse_authorization_details(entry(budget={"amount": "1", "currency": "USD"}))
    assert details is not None
    assert details.budget_period is BudgetPeriod.TOTAL


@pytest.mark.parametrize(("amount", "micro"), [("5", 5_000_000), ("5.00", 5_000_000), ("0.01", 10_000), ("0", 0)])
def test_budget_amounts_are_exact_decimal_strings(amount: str, micro: int):
    details = parse_authorization_details(entry(budget={"amount": amount, "currency": "USD"}))
    assert details is not None
    assert details.budget_micro_usd == micro


@pytest.mark.parametrize(
    "amount", ["-1", "1e3", "NaN", "Infinity", "+5", " 5", "5.", ".5", "0x10", "", "5.0000001", "1,5", 5, 5.0, None]
)
def test_budget_amounts_that_are_not_plain_decimal_strings_are_refused(amount: object):
    assert "budget.amount" in refused(entry(budget={"amount": amount, "currency": "USD"}))


def test_a_budget_above_the_ceiling_is_refused():
    assert "budget.amount" in refused(entry(budget={"amount": "2000000000", "currency": "USD"}))


@pytest.mark.parametrize("currency", ["EUR", "usd", None, 840])
def test_only_us_dollars_are_accepted(currency: object):
    assert "budget.currency" in refused(entry(budget={"amount": "5", "currency": currency}))


@pytest.mark.parametrize("period", ["week", "TOTAL", "", 1])
def test_an_unknown_budget_period_is_refused(period: object):
    assert "budget.period" in refused(entry(budget={"amount": "5", "currency": "USD", "period": period}))


def test_unknown_budget_fields_are_refused():
    assert "'limit'" in refused(entry(budget={"amount": "5", "currency": "USD", "limit": "9"}))


@pytest.mark.parametrize("budget", ["5.00", 5, ["5.00"]])
def test_a_budget_that_is_not_an_object_is_refused(budget: object):
    assert "budget" in refused(entry(budget=budget))


def test_two_tollgate_entries_are_refused():
    assert "exactly one" in refused(entry() + entry())


def test_an_empty_array_is_refused():
    assert "exactly one" in refused([])


@pytest.mark.parametrize("kind", ["payment_initiation", None, 7, "TOLLGATE_AI_ACCESS"])
def test_an_unknown_or_missing_type_is_refused(kind: object):
    raw = [{**FULL, "type": kind}] if kind is not None else [{"provider": "openai"}]
    assert "type" in refused(raw)


def test_a_known_entry_beside_an_unknown_type_is_refused():
    assert "payment_initiation" in refused([FULL, {"type": "payment_initiation"}])


def test_unknown_fields_are_refused_and_the_known_ones_listed():
    message = refused(entry(privileges=["admin"]))
    assert "'privileges'" in message
    assert "budget" in message


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "tollgate_ai_access"},
        "tollgate_ai_access",
        "[1]",
        ["tollgate_ai_access"],
        "[{]",
        '[{"type": "tollgate_ai_access", "rpm": NaN}]',
        "[" * 5000 + "]" * 5000,
    ],
)
def test_what_is_not_a_json_array_of_objects_is_refused(raw: object):
    refused(raw)


def test_a_key_given_twice_is_refused():
    text = '[{"type": "tollgate_ai_access", "budget": {"amount": "1", "amount": "999", "currency": "USD"}}]'
    assert "JSON" in refused(text)


def test_an_oversized_parameter_is_refused_without_being_parsed():
    text = json.dumps(entry(reason="x" * MAX_DETAILS_CHARS))
    assert str(MAX_DETAILS_CHARS) in refused(text)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"provider": "Open AI"}, "provider"),
        ({"provider": 1}, "provider"),
        ({"models": []}, "models"),
        ({"models": "gpt-4o"}, "models"),
        ({"models": ["gpt 4o"]}, "models"),
        ({"models": [1]}, "models"),
        ({"capabilities": ["teleport"]}, "capabilities"),
        ({"capabilities": []}, "capabilities"),
        ({"max_requests": -1}, "max_requests"),
        ({"max_requests": 1.5}, "max_requests"),
        ({"max_requests": True}, "max_requests"),
        ({"rpm": 0}, "rpm"),
        ({"tpm": "100"}, "tpm"),
        ({"expires_in": 0}, "expires_in"),
        ({"expires_in": 10**10}, "expires_in"),
        ({"expires_in": "3600"}, "expires_in"),
        ({"reason": "two\nlines"}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": 5}, "reason"),
        ({"locations": "https://proxy"}, "locations"),
        ({"locations": []}, "locations"),
    ],
)
def test_each_field_with_a_wrong_type_or_value_is_refused_and_named(fields: dict[str, object], named: str):
    message = refused(entry(**fields))
    assert message.startswith(f"authorization_details: {named}")


def test_the_validators_are_grants_rules_so_a_refusal_is_also_an_invalid_request():
    with pytest.raises(InvalidRequest):
        parse_authorization_details(entry(provider="UPPER"))


def test_a_long_unknown_value_is_not_repeated_back_whole():
    assert len(refused([{"type": "y" * 10_000}])) < 300


def test_a_blank_reason_is_no_reason_and_a_reason_is_trimmed():
    assert parse_authorization_details(entry(reason="   ")) == AccessDetails()
    assert parse_authorization_details(entry(reason="  notes ")) == AccessDetails(reason="notes")


def test_duplicate_models_and_capabilities_are_dropped_in_order():
    details = parse_authorization_details(entry(models=["b", "a", "b"], capabilities=["chat", "chat"]))
    assert details == AccessDetails(models=("b", "a"), capabilities=(Capability.CHAT,))


def test_details_json_round_trips():
    details = parse_authorization_details([{**FULL, "locations": ["http://127.0.0.1:8080"]}])
    assert details is not None
    written = details_json(details)
    assert written[0]["budget"] == {"amount": "5.00", "currency": "USD", "period": "month"}
    assert parse_authorization_details(written) == details
    assert parse_authorization_details(json.dumps(written)) == details


@pytest.mark.parametrize(
    ("micro", "text"), [(5_000_000, "5.00"), (10_000, "0.01"), (1_234_567, "1.234567"), (0, "0.00")]
)
def test_details_json_writes_the_shortest_exact_amount(micro: int, text: str):
    written = details_json(AccessDetails(budget_micro_usd=micro))
    assert written == [{"type": "tollgate_ai_access", "budget": {"amount": text, "currency": "USD", "period": "total"}}]


def test_details_json_leaves_unset_fields_out():
    assert details_json(AccessDetails()) == [{"type": "tollgate_ai_access"}]
