"""A tenant's consent template: what the consent page proposes where an app asked for nothing (RFC 9396 scope-only
requests, as MCP clients send). Pure.

The admin sets it (`PUT /v1/tenants/{id}/consent-template`); every value is checked by the same validators as a
grant's (`grants.py`), so a template never proposes what the admin API would refuse. Stored as `template_json`'s
flat JSON object; a tenant without one gets `DEFAULT_TEMPLATE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tollgate_auth.domain.access import DEFAULT_TEMPLATE, BudgetPeriod, Template
from tollgate_auth.domain.errors import InvalidRequest
from tollgate_auth.domain.grants import (
    MAX_EXPIRES_IN_SECONDS,
    parse_budget,
    parse_capabilities,
    parse_count,
    parse_models,
    parse_provider,
)
from tollgate_contracts import micro_to_usd
from tollgate_servicekit.redaction import clip

__all__ = ["DEFAULT_TEMPLATE", "TEMPLATE_FIELDS", "parse_template", "template_json", "template_of_json"]

TEMPLATE_FIELDS = (
    "provider",
    "models",
    "capabilities",
    "budget_usd",
    "budget_period",
    "max_requests",
    "rpm",
    "tpm",
    "expires_in_seconds",
)


def parse_template(
    *,
    provider: str | None = None,
    models: Sequence[str] | None = None,
    capabilities: Sequence[str] | None = None,
    budget_usd: Any = None,
    budget_period: str | BudgetPeriod | None = None,
    max_requests: int | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
    expires_in_seconds: int | None = None,
) -> Template:
    """The template these values make; None proposes nothing. Raises `InvalidRequest` naming the field.

    A budget period without a budget is refused (it would silently mean nothing); capabilities are checked
    against the provider when one is given.
    """
    budget = parse_budget(budget_usd)
    if budget_period is not None and budget is None:
        raise InvalidRequest("budget_period: needs budget_usd")
    return Template(
        provider=None if provider is None else parse_provider(provider),
        models=None if models is None else parse_models(models),
        capabilities=None if capabilities is None else parse_capabilities(capabilities, provider or ""),
        budget_micro_usd=budget,
        budget_period=_period(budget_period),
        max_requests=parse_count("max_requests", max_requests, 0),
        rpm=parse_count("rpm", rpm, 1),
        tpm=parse_count("tpm", tpm, 1),
        expires_in_seconds=_expires_in(expires_in_seconds),
    )


def template_json(template: Template) -> dict[str, object]:
    """The template as the API shows and the database stores it; unset fields are null.

    `template_of_json(template_json(t)) == t` for every template `parse_template` made.
    """
    budget = template.budget_micro_usd
    return {
        "provider": template.provider,
        "models": None if template.models is None else list(template.models),
        "capabilities": None if template.capabilities is None else [c.value for c in template.capabilities],
        "budget_usd": None if budget is None else micro_to_usd(budget),
        "budget_period": None if budget is None else template.budget_period.value,
        "max_requests": template.max_requests,
        "rpm": template.rpm,
        "tpm": template.tpm,
        "expires_in_seconds": template.expires_in_seconds,
    }


def template_of_json(raw: Mapping[str, object]) -> Template:
    """A template from `template_json`'s shape (a stored one, or an API body), checked again field by field."""
    unknown = sorted(set(raw) - set(TEMPLATE_FIELDS))
    if unknown:
        raise InvalidRequest(f"{clip(unknown[0], 60)}: unknown field (known: {', '.join(TEMPLATE_FIELDS)})")
    return parse_template(**{name: _typed(name, value) for name, value in raw.items() if value is not None})


def _typed(name: str, value: object) -> Any:
    """The JSON types each field takes; anything else is refused here, before the validators see it."""
    if name in ("models", "capabilities"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidRequest(f"{name}: must be a list of strings")
    elif name in ("provider", "budget_period"):
        if not isinstance(value, str):
            raise InvalidRequest(f"{name}: must be a string")
    elif name != "budget_usd" and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidRequest(f"{name}: must be a whole number")
    return value


def _period(raw: str | BudgetPeriod | None) -> BudgetPeriod:
    if raw is None:
        return BudgetPeriod.TOTAL
    periods = {p.value: p for p in BudgetPeriod}
    if raw not in periods:
        raise InvalidRequest(f"budget_period: must be one of {', '.join(periods)}")
    return periods[str(raw)]


def _expires_in(seconds: int | None) -> int | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not 0 < seconds <= MAX_EXPIRES_IN_SECONDS:
        raise InvalidRequest(f"expires_in_seconds: must be from 1 to {MAX_EXPIRES_IN_SECONDS} (ten years)")
    return seconds
