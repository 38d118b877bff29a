"""Money on the wire is integer micro-dollars (1 USD = 1,000,000); never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MICRO_PER_USD = 1_000_000


def usd_to_micro(amount: str | int | Decimal) -> int:
    """Parse a dollar amount (`"5"`, `"0.25"`) to micro-dollars; refuses negatives and sub-micro precision."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError(f"not a dollar amount: {amount!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"dollar amount must be a non-negative number: {amount!r}")
    micro = value * MICRO_PER_USD
    if micro != micro.to_integral_value():
        raise ValueError(f"dollar amount has more precision than a micro-dollar: {amount!r}")
    return int(micro)


def micro_to_usd(micro: int) -> str:
    """Format micro-dollars as a dollar string with six decimals (`"0.000150"`)."""
    return str((Decimal(micro) / MICRO_PER_USD).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))
