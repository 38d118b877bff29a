"""Consent: what an app asks for (`tollgate_ai_access` authorization details, RFC 9396), what the owner grants.

Pure: no I/O; `now` and ids are arguments. The OAuth layer (`tollgate_auth.oauth`) parses a request into
`AccessDetails`, the consent page shows a `ConsentView` of it, the owner answers with a `Decision` and an
`OwnerChoice`, and `narrow` turns asked + chosen into what is granted — never more than was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tollgate_contracts import Capability

DETAILS_TYPE = "tollgate_ai_access"
"""The one `authorization_details` type Tollgate understands (advertised in the server metadata)."""


class BudgetPeriod(StrEnum):
    """Over what span a budget is counted."""

    TOTAL = "total"
    DAY = "day"
    MONTH = "month"


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


@dataclass(frozen=True)
class OwnerChoice:
    """What the owner set on the consent page; None keeps what was asked (or the template's value)."""

    provider: str | None = None
    models: tuple[str, ...] | None = None
    budget_micro_usd: int | None = None
    max_requests: int | None = None
    expires_in_seconds: int | None = None


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
