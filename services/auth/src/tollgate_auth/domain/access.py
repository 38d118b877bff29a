"""The consent vocabulary: what an app asks for and what the owner grants (`tollgate_ai_access`, RFC 9396).

Import it from `tollgate_auth.domain.consent`. `AccessDetails` is one authorization-details entry (None is "not
said"); the consent page shows a `ConsentView` and answers with a `Decision` and an `OwnerChoice`. Where the
app said nothing (a scope-only request, as MCP clients send), the tenant's `Template` proposes values; they are
suggestions, not the app's ask, so the owner may choose above them (`narrow(asked, choice, template=template)`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from tollgate_contracts import BudgetPeriod, Capability

DETAILS_TYPE = "tollgate_ai_access"
"""The one `authorization_details` type Tollgate understands (advertised in the server metadata)."""

__all__ = [
    "DEFAULT_TEMPLATE",
    "DETAILS_TYPE",
    "AccessDetails",
    "BudgetPeriod",
    "ConsentView",
    "Decision",
    "OwnerChoice",
    "Template",
    "needs_provider_and_models",
    "usd_text",
    "with_template",
]


class Decision(StrEnum):
    """The owner's answer on the consent page."""

    APPROVE = "approve"
    DENY = "deny"


@dataclass(frozen=True)
class AccessDetails:
    """One `tollgate_ai_access` entry: what is asked (or granted). None means "not said" (the owner chooses)."""

    provider: str | None = None
    models: tuple[str, ...] | None = None
    capabilities: tuple[Capability, ...] | None = None
    budget_micro_usd: int | None = None
    budget_period: BudgetPeriod = BudgetPeriod.TOTAL
    max_requests: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    expires_in_seconds: int | None = None
    reason: str | None = None
    locations: tuple[str, ...] | None = None
    """RFC 9396's common `locations` field, if the app sent it; the OAuth layer checks it names the proxy."""


@dataclass(frozen=True)
class OwnerChoice:
    """What the owner set on the consent page; None keeps what was asked (or the template's value)."""

    provider: str | None = None
    models: tuple[str, ...] | None = None
    budget_micro_usd: int | None = None
    max_requests: int | None = None
    expires_in_seconds: int | None = None
    capabilities: tuple[Capability, ...] | None = None
    budget_period: BudgetPeriod | None = None
    rpm: int | None = None
    tpm: int | None = None


@dataclass(frozen=True)
class ConsentView:
    """Everything the consent page shows, already decided and validated; the page only renders it."""

    request_id: str
    action: str
    """Where the form posts (path + query)."""
    client_name: str
    verified_domain: str | None
    """The host of a client-metadata-document client's `client_id` URL; None for registered clients."""
    asked: AccessDetails
    """What the app asked for, with the tenant's template filled in where it said nothing."""
    needs_provider_and_models: bool
    """True when the request named no provider or models: the page then shows **Provider** and **Models**."""


@dataclass(frozen=True)
class Template:
    """A tenant's proposal for whatever an app did not ask for; None proposes nothing (the owner must choose)."""

    provider: str | None = None
    models: tuple[str, ...] | None = None
    capabilities: tuple[Capability, ...] | None = None
    budget_micro_usd: int | None = None
    budget_period: BudgetPeriod = BudgetPeriod.TOTAL
    max_requests: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    expires_in_seconds: int | None = None


DEFAULT_TEMPLATE = Template(budget_micro_usd=5_000_000, expires_in_seconds=30 * 24 * 3600)
"""Five dollars in total, for thirty days: a cautious start the owner can change on the page. Proposed to a tenant
that has set no template of its own (`Tenants.consent_template`, `PUT /v1/tenants/{id}/consent-template`)."""


def needs_provider_and_models(asked: AccessDetails) -> bool:
    """True when the app's own ask names no provider or no models (the page then asks the owner for them)."""
    return asked.provider is None or asked.models is None


def with_template(asked: AccessDetails, template: Template) -> AccessDetails:
    """The ask with the template's values where the app said nothing; what the app said is kept."""
    budget_said = asked.budget_micro_usd is not None
    return replace(
        asked,
        provider=asked.provider if asked.provider is not None else template.provider,
        models=asked.models if asked.models is not None else template.models,
        capabilities=asked.capabilities if asked.capabilities is not None else template.capabilities,
        budget_micro_usd=asked.budget_micro_usd if budget_said else template.budget_micro_usd,
        budget_period=asked.budget_period if budget_said else template.budget_period,
        max_requests=_first(asked.max_requests, template.max_requests),
        rpm=_first(asked.rpm, template.rpm),
        tpm=_first(asked.tpm, template.tpm),
        expires_in_seconds=_first(asked.expires_in_seconds, template.expires_in_seconds),
    )


def usd_text(micro: int) -> str:
    """Micro-dollars as the shortest exact dollar string with at least cents: 5_000_000 -> "5.00"."""
    whole, frac = divmod(micro, 1_000_000)
    digits = f"{frac:06d}".rstrip("0").ljust(2, "0")
    return f"{whole}.{digits}"


def _first(value: int | None, fallback: int | None) -> int | None:
    return value if value is not None else fallback
