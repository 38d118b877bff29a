"""Prices and the arithmetic of cost.

A price is integer micro-dollars per million tokens (`/mtok`), for input and output separately. Rules match a
request's provider and model with glob patterns (`*`, `?`, `[...]`, case-sensitive); the most specific matching
rule wins: an exact name beats any pattern, then the pattern with more literal characters, then the rule
listed later (so configured rules, added after the built-ins, win ties). A model no rule matches is priced at
the table's fallback.

Rounding: the cost of a request is `ceil((input_tokens * input_price + output_tokens * output_price) / 1e6)`,
computed exactly in integers and rounded UP once, on the sum, to the next micro-dollar. We never under-charge,
and never over-charge a request by a whole micro-dollar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

TOKENS_PER_PRICE_UNIT = 1_000_000
"""Prices are per million tokens."""

_WILDCARDS = frozenset("*?[")


@dataclass(frozen=True)
class Price:
    """Micro-dollars per million input tokens and per million output tokens."""

    input_micro_usd_per_mtok: int
    output_micro_usd_per_mtok: int

    def __post_init__(self) -> None:
        if self.input_micro_usd_per_mtok < 0 or self.output_micro_usd_per_mtok < 0:
            raise ValueError("prices must be non-negative")

    def cost(self, input_tokens: int, output_tokens: int) -> int:
        """Cost in micro-dollars, rounded up to the next micro-dollar (see the module docstring)."""
        if input_tokens < 0 or output_tokens < 0:
            raise ValueError("token counts must be non-negative")
        scaled = input_tokens * self.input_micro_usd_per_mtok + output_tokens * self.output_micro_usd_per_mtok
        return -(-scaled // TOKENS_PER_PRICE_UNIT)


@dataclass(frozen=True)
class PriceRule:
    """A price for every (provider, model) the two glob patterns match."""

    provider: str
    model: str
    price: Price

    def matches(self, provider: str, model: str) -> bool:
        return fnmatchcase(provider, self.provider) and fnmatchcase(model, self.model)

    @property
    def exact(self) -> bool:
        return not (_WILDCARDS & set(self.provider + self.model))

    @property
    def specificity(self) -> int:
        """Characters that are not wildcards: more means a narrower pattern."""
        return sum(1 for char in self.provider + self.model if char not in _WILDCARDS)


@dataclass(frozen=True)
class Quote:
    """The price that applies to a (provider, model), and the rule it came from (None = the fallback)."""

    price: Price
    rule: PriceRule | None


class PriceTable:
    """An ordered set of price rules with a fallback. Later rules with the same patterns replace earlier ones."""

    def __init__(self, rules: Iterable[PriceRule], fallback: Price) -> None:
        by_pattern: dict[tuple[str, str], PriceRule] = {}
        for rule in rules:
            by_pattern.pop((rule.provider, rule.model), None)
            by_pattern[(rule.provider, rule.model)] = rule
        self.rules: tuple[PriceRule, ...] = tuple(by_pattern.values())
        self.fallback = fallback
        # Sorted once: the first match in this order is the most specific one; on ties the later-listed rule.
        order = {rule: index for index, rule in enumerate(self.rules)}
        self._search = sorted(self.rules, key=lambda rule: (not rule.exact, -rule.specificity, -order[rule]))

    def quote(self, provider: str, model: str) -> Quote:
        """The price for this provider and model."""
        for rule in self._search:
            if rule.matches(provider, model):
                return Quote(rule.price, rule)
        return Quote(self.fallback, None)

    def cost(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> int:
        """What a request costs, in micro-dollars."""
        return self.quote(provider, model).price.cost(input_tokens, output_tokens)

    def with_rules(self, rules: Iterable[PriceRule], fallback: Price | None = None) -> PriceTable:
        """A new table: these rules added after (and replacing same-pattern) rules of this one."""
        return PriceTable((*self.rules, *rules), self.fallback if fallback is None else fallback)


def _usd(input_usd_per_mtok: str, output_usd_per_mtok: str) -> Price:
    def micro(text: str) -> int:
        units, _, fraction = text.partition(".")
        return int(units) * 1_000_000 + int((fraction + "000000")[:6])

    return Price(micro(input_usd_per_mtok), micro(output_usd_per_mtok))


# List prices per million tokens (standard tier, no caching or batch discounts) as published in 2025.
_OPENAI = {
    "gpt-4o*": _usd("2.50", "10.00"),
    "gpt-4o-mini*": _usd("0.15", "0.60"),
    "gpt-4.1*": _usd("2.00", "8.00"),
    "gpt-4.1-mini*": _usd("0.40", "1.60"),
    "gpt-4.1-nano*": _usd("0.10", "0.40"),
    "gpt-3.5-turbo*": _usd("0.50", "1.50"),
    "o3-mini*": _usd("1.10", "4.40"),
    "o4-mini*": _usd("1.10", "4.40"),
    "text-embedding-3-small": _usd("0.02", "0"),
    "text-embedding-3-large": _usd("0.13", "0"),
}
_ANTHROPIC = {
    "claude-3-haiku*": _usd("0.25", "1.25"),
    "claude-3-5-haiku*": _usd("0.80", "4.00"),
    "claude-haiku-4-5*": _usd("1.00", "5.00"),
    "claude-3-5-sonnet*": _usd("3.00", "15.00"),
    "claude-3-7-sonnet*": _usd("3.00", "15.00"),
    "claude-sonnet-4*": _usd("3.00", "15.00"),
    "claude-opus-4*": _usd("15.00", "75.00"),
    "claude-opus-4-5*": _usd("5.00", "25.00"),
}

BUILTIN_RULES: tuple[PriceRule, ...] = (
    *(PriceRule("openai", model, price) for model, price in _OPENAI.items()),
    *(PriceRule("anthropic", model, price) for model, price in _ANTHROPIC.items()),
)
"""Prices for common OpenAI and Anthropic models."""

FALLBACK_PRICE = _usd("15.00", "75.00")
"""Unknown models are charged like the most expensive built-in model, so a missing rule never under-charges."""


def builtin_table() -> PriceTable:
    """The built-in rules with the conservative fallback."""
    return PriceTable(BUILTIN_RULES, FALLBACK_PRICE)
