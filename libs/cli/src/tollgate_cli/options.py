"""Options shared by several commands, and parsing of option values (a ValueError becomes a usage error)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, TypeVar

import typer

T = TypeVar("T")

DURATION_HELP = "30d, 12h, 15m or 90s"
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the service's JSON answer instead of a table.")]
TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="Tenant id (tnt_…); default: the tenant named 'default'.")
]


def parse_dollars(value: str) -> str:
    """A non-negative dollar amount with at most micro-dollar precision, kept as the string typed."""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount in dollars (such as 5 or 0.25)") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{value!r} must be a non-negative amount in dollars")
    micro = amount * 1_000_000
    if micro != micro.to_integral_value():
        raise ValueError(f"{value!r} is more precise than a micro-dollar (6 decimals)")
    return value


def option_value(parse: Callable[[str], T], value: str | None, flag: str) -> T | None:
    """`parse(value)`, with a ValueError reported as click reports a bad option (exit code 2)."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=f"'{flag}'") from None
