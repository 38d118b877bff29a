"""Pricing is pure arithmetic over integer micro-dollars: rounding, rule matching, fallback."""

from __future__ import annotations

import pytest

from tollgate_metering.domain.pricing import FALLBACK_PRICE, Price, PriceRule, PriceTable, builtin_table


def test_cost_is_exact_when_it_divides_evenly() -> None:
    price = Price(input_micro_usd_per_mtok=2_500_000, output_micro_usd_per_mtok=10_000_000)
    assert price.cost(1_000_000, 0) == 2_500_000
    assert price.cost(1_000, 2_000) == 2_500 + 20_000


def test_a_fraction_of_a_micro_dollar_is_rounded_up_never_down() -> None:
    price = Price(input_micro_usd_per_mtok=150_000, output_micro_usd_per_mtok=600_000)
    assert price.cost(1, 0) == 1  # 0.15 micro-dollars
    assert price.cost(10, 1) == 3  # 1.5 + 0.6 = 2.1


def test_rounding_happens_once_on_the_sum_not_per_direction() -> None:
    price = Price(input_micro_usd_per_mtok=500_000, output_micro_usd_per_mtok=500_000)
    assert price.cost(1, 1) == 1  # 0.5 + 0.5, not ceil(0.5) + ceil(0.5)


def test_no_tokens_cost_nothing() -> None:
    assert Price(1, 1).cost(0, 0) == 0


def test_negative_prices_and_token_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        Price(-1, 0)
    with pytest.raises(ValueError):
        Price(1, 1).cost(-1, 0)


def test_the_most_specific_pattern_wins() -> None:
    table = builtin_table()
    assert table.quote("openai", "gpt-4o-mini-2024-07-18").rule == PriceRule(
        "openai", "gpt-4o-mini*", Price(150_000, 600_000)
    )
    assert table.quote("openai", "gpt-4o-2024-08-06").price == Price(2_500_000, 10_000_000)
    assert table.quote("anthropic", "claude-opus-4-5-20251101").price == Price(5_000_000, 25_000_000)
    assert table.quote("anthropic", "claude-opus-4-1").price == Price(15_000_000, 75_000_000)


def test_an_exact_name_beats_any_pattern() -> None:
    table = PriceTable(
        [PriceRule("*", "gpt-4o-mini-long-pattern*", Price(9, 9)), PriceRule("p", "m", Price(1, 1))], Price(0, 0)
    )
    assert table.quote("p", "m").price == Price(1, 1)


def test_equally_specific_rules_are_decided_by_the_later_one() -> None:
    table = PriceTable([PriceRule("openai", "a*", Price(1, 1)), PriceRule("openai", "*b", Price(2, 2))], Price(0, 0))
    assert table.quote("openai", "ab").price == Price(2, 2)


def test_configured_rules_replace_built_ins_with_the_same_pattern() -> None:
    table = builtin_table().with_rules([PriceRule("openai", "gpt-4o-mini*", Price(1, 2))])
    assert table.quote("openai", "gpt-4o-mini").price == Price(1, 2)
    assert sum(1 for rule in table.rules if rule.model == "gpt-4o-mini*") == 1


def test_patterns_match_the_provider_too() -> None:
    table = PriceTable([PriceRule("azure-*", "gpt-4o", Price(7, 7))], Price(0, 0))
    assert table.quote("azure-eu", "gpt-4o").price == Price(7, 7)
    assert table.quote("openai", "gpt-4o").rule is None


def test_unknown_models_and_providers_get_the_fallback_price() -> None:
    table = builtin_table()
    assert table.quote("openai", "some-future-model").price == FALLBACK_PRICE
    assert table.quote("my-local-llm", "gpt-4o").price == FALLBACK_PRICE
    assert table.quote("openai", "some-future-model").rule is None


def test_the_fallback_never_under_charges_a_known_model() -> None:
    for rule in builtin_table().rules:
        assert rule.price.input_micro_usd_per_mtok <= FALLBACK_PRICE.input_micro_usd_per_mtok
        assert rule.price.output_micro_usd_per_mtok <= FALLBACK_PRICE.output_micro_usd_per_mtok


def test_a_table_prices_a_request_end_to_end() -> None:
    # gpt-4o-mini: $0.15 / $0.60 per million tokens.
    assert builtin_table().cost("openai", "gpt-4o-mini", 1_000, 500) == 150 + 300
