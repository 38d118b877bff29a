"""`authorization_details` (RFC 9396, type `tollgate_ai_access`): the request's as the domain reads them, and
a grant's as the token response returns them."""

from __future__ import annotations

from typing import Any

from tollgate_auth.domain import Grant
from tollgate_auth.domain.authorization_details import parse_authorization_details
from tollgate_auth.domain.consent import DETAILS_TYPE, AccessDetails, usd_text
from tollgate_auth.domain.errors import InvalidAuthorizationDetails
from tollgate_auth.oauth.errors import InvalidAuthorizationDetailsError


def granted_details(grant: Grant) -> dict[str, Any]:
    """The granted entry: what the owner approved (after narrowing), as the app may read it back."""
    entry: dict[str, Any] = {
        "type": DETAILS_TYPE,
        "provider": grant.provider,
        "models": list(grant.models),
        "capabilities": [c.value for c in grant.capabilities],
    }
    if grant.budget_micro_usd is not None:
        entry["budget"] = {"amount": usd_text(grant.budget_micro_usd), "currency": "USD", "period": "total"}
    for name in ("max_requests", "rpm", "tpm"):
        value = getattr(grant, name)
        if value is not None:
            entry[name] = value
    if grant.expires_at is not None:
        entry["expires_at"] = grant.expires_at.isoformat()
    return entry


def asked_details(params: dict[str, str]) -> AccessDetails:
    """What the app asks for; a request with only `scope`, or nothing, asks for nothing in particular.

    Raises `InvalidAuthorizationDetailsError` (RFC 9396 §5) for a malformed or unknown entry.
    """
    raw = params.get("authorization_details")
    try:
        parsed = parse_authorization_details(raw) if raw else None
    except InvalidAuthorizationDetails as exc:
        raise InvalidAuthorizationDetailsError(exc.message) from None
    return parsed or AccessDetails()
