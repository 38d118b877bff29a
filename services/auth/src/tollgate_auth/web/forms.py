"""The consent form's fields, read back: the owner's decision and narrowing, checked for shape only.

Whether a choice is narrower than what was asked is the domain's rule (`domain.consent`); here a field is only
parsed (dollars to micro-dollars, `7d` to seconds, model lists) and refused with a message the page can show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tollgate_auth.domain.consent import BudgetPeriod, Decision, OwnerChoice
from tollgate_auth.domain.errors import InvalidRequest
from tollgate_contracts import Capability, usd_to_micro
from tollgate_servicekit.redaction import clip

MODEL_FIELD_PREFIX = "model_"
"""One checkbox per asked model (`model_0`, `model_1`, …): a plain mapping holds one value per name."""
CAPABILITY_FIELD_PREFIX = "capability_"
MAX_MODELS = 50

_DURATION = re.compile(r"(\d{1,9})\s*([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


class InvalidChoice(InvalidRequest):
    """A consent form field that cannot be read; `message` is shown to the owner on the page again."""

    code = "invalid_choice"


def parse_duration(text: str) -> int:
    """`30d`, `12h`, `15m`, `90s` or plain seconds, as seconds (> 0)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise InvalidChoice(f"{clip(text)!r} is not a duration such as 7d, 12h or 30m")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: int) -> str:
    """The largest whole unit: 604800 → `7d`, 5400 → `90m`."""
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _text(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def _checked(form: Mapping[str, str], prefix: str) -> tuple[str, ...]:
    keys = sorted((k for k in form if k.startswith(prefix)), key=lambda k: (len(k), k))
    return tuple(dict.fromkeys(v for k in keys if (v := _text(form, k)) is not None))


def _models(form: Mapping[str, str]) -> tuple[str, ...] | None:
    typed = _text(form, "models")
    if typed is not None:
        found = tuple(dict.fromkeys(m for m in re.split(r"[\s,]+", typed) if m))
    else:
        found = _checked(form, MODEL_FIELD_PREFIX)
        if not found and not form.get("models_present"):
            return None
    if form.get("models_present") and not found:
        raise InvalidChoice("choose at least one model")
    if len(found) > MAX_MODELS:
        raise InvalidChoice(f"at most {MAX_MODELS} models")
    return found or None


def _capabilities(form: Mapping[str, str]) -> tuple[Capability, ...] | None:
    found = _checked(form, CAPABILITY_FIELD_PREFIX)
    if not found and not form.get("capabilities_present"):
        return None
    if not found:
        raise InvalidChoice("choose at least one capability")
    try:
        return tuple(Capability(c) for c in found)
    except ValueError:
        raise InvalidChoice(f"unknown capability among {clip(', '.join(found))!r}") from None


def _count(form: Mapping[str, str], name: str, what: str) -> int | None:
    text = _text(form, name)
    if text is None:
        return None
    if not (text.isdigit() and 0 < int(text) < 10**15):
        raise InvalidChoice(f"{clip(text)!r} is not a number of {what} above zero")
    return int(text)


def _period(form: Mapping[str, str]) -> BudgetPeriod | None:
    text = _text(form, "budget_period")
    if text is None:
        return None
    try:
        return BudgetPeriod(text)
    except ValueError:
        raise InvalidChoice(f"{clip(text)!r} is not a budget period (total, month or day)") from None


def parse_consent_form(form: Mapping[str, str]) -> tuple[Decision, OwnerChoice]:
    """The owner's answer. Deny reads nothing else; approve reads the narrowing fields (empty keeps what was
    asked). `InvalidChoice` for an unreadable field or a missing decision."""
    try:
        decision = Decision(form.get("decision", ""))
    except ValueError:
        raise InvalidChoice("choose Approve or Deny") from None
    if decision is Decision.DENY:
        return decision, OwnerChoice()
    budget_text = _text(form, "budget_usd")
    try:
        budget = None if budget_text is None else usd_to_micro(budget_text.removeprefix("$"))
    except ValueError:
        raise InvalidChoice(f"{clip(budget_text)!r} is not an amount in dollars such as 5 or 0.25") from None
    expires_text = _text(form, "expires_in")
    choice = OwnerChoice(
        provider=None if (p := _text(form, "provider")) is None else p.lower(),
        models=_models(form),
        budget_micro_usd=budget,
        max_requests=_count(form, "max_requests", "requests"),
        expires_in_seconds=None if expires_text is None else parse_duration(expires_text),
        capabilities=_capabilities(form),
        budget_period=_period(form),
        rpm=_count(form, "rpm", "requests per minute"),
        tpm=_count(form, "tpm", "tokens per minute"),
    )
    return decision, choice
