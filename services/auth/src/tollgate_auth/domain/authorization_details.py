"""The `authorization_details` parameter (RFC 9396) of type `tollgate_ai_access`: parsed, checked, written back.

What an app may send (a JSON array, or its text as a form-encoded request parameter holds it):

```json
[{"type": "tollgate_ai_access", "provider": "openai", "models": ["gpt-4o-mini", "gpt-4o*"],
  "capabilities": ["chat"], "budget": {"amount": "5.00", "currency": "USD", "period": "month"},
  "max_requests": 1000, "rpm": 60, "tpm": 100000, "expires_in": 2592000, "reason": "Summarise my notes"}]
```

Every field is optional (what is missing the owner chooses, starting from the tenant's template). Exactly one
entry, of this type; an unknown type, an unknown field, a wrong type or value is `invalid_authorization_details`
(RFC 9396 §5). The value checks are `grants.py`'s, so a grant asked for over OAuth obeys the admin API's rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from tollgate_auth.domain.access import DETAILS_TYPE, AccessDetails, BudgetPeriod, usd_text
from tollgate_auth.domain.errors import InvalidAuthorizationDetails, InvalidRequest
from tollgate_auth.domain.grants import (
    MAX_EXPIRES_IN_SECONDS,
    parse_budget,
    parse_capabilities,
    parse_count,
    parse_models,
    parse_provider,
)
from tollgate_servicekit.redaction import clip

__all__ = ["MAX_DETAILS_CHARS", "MAX_REASON_LENGTH", "details_json", "parse_authorization_details"]

MAX_DETAILS_CHARS = 16_384
"""Far above a real entry (a hundred models of 200 characters would not fit, and need not)."""
MAX_REASON_LENGTH = 500
MAX_LOCATIONS = 10
MAX_LOCATION_LENGTH = 2_000
CURRENCY = "USD"
"""Budgets are counted in dollars (micro-dollars inside); another currency is refused, never converted."""

_FIELDS = frozenset(
    {"type", "provider", "models", "capabilities", "budget", "max_requests", "rpm", "tpm", "expires_in", "reason"}
    | {"locations"}  # RFC 9396 §2.2's common field; the OAuth layer checks it against the resource
)
_BUDGET_FIELDS = frozenset({"amount", "currency", "period"})
_AMOUNT = re.compile(r"[0-9]{1,16}(\.[0-9]{1,6})?")
"""A plain decimal: no sign, exponent, NaN or infinity, at most micro-dollar precision."""

T = TypeVar("T")
R = TypeVar("R")


def parse_authorization_details(raw: object) -> AccessDetails | None:
    """The one `tollgate_ai_access` entry of `raw` (a list, or JSON text); None when the parameter is absent.

    Absent means `None` or a blank string (a scope-only request). Raises `InvalidAuthorizationDetails`.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    entries = _decode(raw) if isinstance(raw, str) else raw
    if not isinstance(entries, list):
        raise _invalid("must be a JSON array of objects")
    for entry in entries:
        if not isinstance(entry, dict):
            raise _invalid("every entry must be a JSON object")
        kind = entry.get("type")
        if kind != DETAILS_TYPE:
            shown = "missing" if kind is None else repr(clip(str(kind), 60))
            raise _invalid(f"type {shown} is not supported (only {DETAILS_TYPE!r})")
    if len(entries) != 1:
        raise _invalid(f"must hold exactly one {DETAILS_TYPE!r} entry, not {len(entries)}")
    return _entry(entries[0])


def details_json(details: AccessDetails) -> list[dict[str, object]]:
    """`details` as the `authorization_details` of a token or introspection response; unset fields left out.

    `parse_authorization_details(details_json(d)) == d` for every `d` this module produced.
    """
    entry: dict[str, object] = {"type": DETAILS_TYPE}
    if details.provider is not None:
        entry["provider"] = details.provider
    if details.models is not None:
        entry["models"] = list(details.models)
    if details.capabilities is not None:
        entry["capabilities"] = [c.value for c in details.capabilities]
    if details.budget_micro_usd is not None:
        entry["budget"] = {
            "amount": usd_text(details.budget_micro_usd),
            "currency": CURRENCY,
            "period": details.budget_period.value,
        }
    for name, value in (("max_requests", details.max_requests), ("rpm", details.rpm), ("tpm", details.tpm)):
        if value is not None:
            entry[name] = value
    if details.expires_in_seconds is not None:
        entry["expires_in"] = details.expires_in_seconds
    if details.reason is not None:
        entry["reason"] = details.reason
    if details.locations is not None:
        entry["locations"] = list(details.locations)
    return [entry]


def _decode(text: str) -> object:
    if len(text) > MAX_DETAILS_CHARS:
        raise _invalid(f"at most {MAX_DETAILS_CHARS} characters")
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and the hooks' refusals; the text is not repeated back.
        raise _invalid("is not valid JSON") from None


def _no_constant(name: str) -> object:
    raise ValueError(name)  # NaN, Infinity: not JSON


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A key given twice ("amount" twice) would let two readers see two budgets: refused."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(key)
        out[key] = value
    return out


def _entry(entry: Mapping[str, object]) -> AccessDetails:
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise _invalid(f"unknown field {clip(unknown[0], 60)!r} (known: {', '.join(sorted(_FIELDS))})")
    provider = _field("provider", entry.get("provider"), str, parse_provider)
    models = _field("models", entry.get("models"), list, lambda v: parse_models(_strings("models", v)))
    capabilities = _field(
        "capabilities",
        entry.get("capabilities"),
        list,
        lambda v: parse_capabilities(_strings("capabilities", v), provider or ""),
    )
    budget, period = _budget(entry.get("budget"))
    return AccessDetails(
        provider=provider,
        models=models,
        capabilities=capabilities,
        budget_micro_usd=budget,
        budget_period=period,
        max_requests=_field(
            "max_requests", entry.get("max_requests"), int, lambda v: parse_count("max_requests", v, 0)
        ),
        rpm=_field("rpm", entry.get("rpm"), int, lambda v: parse_count("rpm", v, 1)),
        tpm=_field("tpm", entry.get("tpm"), int, lambda v: parse_count("tpm", v, 1)),
        expires_in_seconds=_field("expires_in", entry.get("expires_in"), int, _expires_in),
        reason=_field("reason", entry.get("reason"), str, _reason),
        locations=_field("locations", entry.get("locations"), list, _locations),
    )


def _field(name: str, raw: object, kind: type[T], check: Callable[[T], R]) -> R | None:
    """`check(raw)` when `raw` is a `kind`; None when absent; the validator's refusal as this field's."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, kind):
        raise _invalid(f"{name}: must be {_KIND_NAMES.get(kind, kind.__name__)}")
    try:
        return check(raw)
    except InvalidAuthorizationDetails:
        raise
    except InvalidRequest as exc:
        # grants.py names its own field ("budget_usd: ..."); say the name the app sent instead.
        detail = exc.message.split(": ", 1)[-1]
        raise _invalid(f"{name}: {detail}") from None


_KIND_NAMES: dict[type, str] = {str: "a string", list: "a JSON array", int: "a whole number", dict: "a JSON object"}


def _strings(name: str, values: list[object]) -> list[str]:
    if not all(isinstance(v, str) for v in values):
        raise _invalid(f"{name}: every entry must be a string")
    return [v for v in values if isinstance(v, str)]


def _budget(raw: object) -> tuple[int | None, BudgetPeriod]:
    if raw is None:
        return None, BudgetPeriod.TOTAL
    if not isinstance(raw, dict):
        raise _invalid('budget: must be an object such as {"amount": "5.00", "currency": "USD", "period": "total"}')
    unknown = sorted(set(raw) - _BUDGET_FIELDS)
    if unknown:
        raise _invalid(f"budget: unknown field {clip(unknown[0], 60)!r} (known: amount, currency, period)")
    amount, currency, period = raw.get("amount"), raw.get("currency"), raw.get("period", BudgetPeriod.TOTAL.value)
    if not isinstance(amount, str) or not _AMOUNT.fullmatch(amount):
        raise _invalid('budget.amount: must be a decimal string of dollars such as "5.00"')
    if currency != CURRENCY:
        shown = "missing" if currency is None else repr(clip(str(currency), 20))
        raise _invalid(f"budget.currency: {shown} is not supported (only {CURRENCY!r})")
    periods = {p.value: p for p in BudgetPeriod}
    if not isinstance(period, str) or period not in periods:
        raise _invalid(f"budget.period: must be one of {', '.join(periods)}")
    micro = _field("budget.amount", amount, str, parse_budget)
    return micro, periods[period]


def _expires_in(seconds: int) -> int:
    if not 0 < seconds <= MAX_EXPIRES_IN_SECONDS:
        raise _invalid(f"expires_in: must be from 1 to {MAX_EXPIRES_IN_SECONDS} seconds (ten years)")
    return seconds


def _reason(text: str) -> str | None:
    """Shown to the owner: one printable line, bounded; blank is no reason."""
    reason = text.strip()
    if len(reason) > MAX_REASON_LENGTH or not reason.isprintable():
        raise _invalid(f"reason: at most {MAX_REASON_LENGTH} printable characters on one line")
    return reason or None


def _locations(values: list[object]) -> tuple[str, ...]:
    locations = _strings("locations", values)
    if not locations or len(locations) > MAX_LOCATIONS:
        raise _invalid(f"locations: from 1 to {MAX_LOCATIONS} URLs")
    if any(not loc or len(loc) > MAX_LOCATION_LENGTH or not loc.isprintable() or " " in loc for loc in locations):
        raise _invalid("locations: every entry must be a URL")
    return tuple(dict.fromkeys(locations))


def _invalid(message: str) -> InvalidAuthorizationDetails:
    return InvalidAuthorizationDetails(f"authorization_details: {message}")
