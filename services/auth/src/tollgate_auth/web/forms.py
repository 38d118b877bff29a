"""The consent form's fields, read back: the owner's decision and narrowing, checked for shape only.

Whether a choice is narrower than what was asked is the domain's rule (`domain.consent`); here a field is only
parsed (dollars to micro-dollars, `7d` to seconds, model lists) and refused with a message the page can show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tollgate_auth.domain.consent import Decision, OwnerChoice
from tollgate_auth.domain.errors import InvalidRequest
from tollgate_contracts import usd_to_micro
from tollgate_servicekit.redaction import clip

MODEL_FIELD_PREFIX = "model_"
"""One checkbox per asked model (`model_0`, `model_1`, …): a plain mapping holds one value per name."""
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


def _models(form: Mapping[str, str]) -> tuple[str, ...] | None:
    typed = _text(form, "models")
    if typed is not None:
        found = tuple(dict.fromkeys(m for m in re.split(r"[\s,]+", typed) if m))
    else:
        keys = sorted((k for k in form if k.startswith(MODEL_FIELD_PREFIX)), key=lambda k: (len(k), k))
        if not keys and not form.get("models_present"):
            return None
        found = tuple(dict.fromkeys(v for k in keys if (v := _text(form, k)) is not None))
    if form.get("models_present") and not found:
        raise InvalidChoice("choose at least one model")
    if len(found) > MAX_MODELS:
        raise InvalidChoice(f"at most {MAX_MODELS} models")
    return found or None


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
    max_requests_text = _text(form, "max_requests")
    if max_requests_text is not None and not (max_requests_text.isdigit() and int(max_requests_text) > 0):
        raise InvalidChoice(f"{clip(max_requests_text)!r} is not a number of requests above zero")
    expires_text = _text(form, "expires_in")
    choice = OwnerChoice(
        provider=None if (p := _text(form, "provider")) is None else p.lower(),
        models=_models(form),
        budget_micro_usd=budget,
        max_requests=None if max_requests_text is None else int(max_requests_text),
        expires_in_seconds=None if expires_text is None else parse_duration(expires_text),
    )
    return decision, choice
