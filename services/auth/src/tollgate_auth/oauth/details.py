"""`authorization_details` (RFC 9396, type `tollgate_ai_access`): the request's as the domain reads them, and
a grant's as the token response returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tollgate_auth.domain import Grant
from tollgate_auth.domain.authorization_details import parse_authorization_details
from tollgate_auth.domain.consent import AccessDetails, details_json
from tollgate_auth.domain.errors import InvalidAuthorizationDetails
from tollgate_auth.domain.narrowing import grant_details
from tollgate_auth.oauth.errors import InvalidAuthorizationDetailsError


def granted_details(grant: Grant, now: datetime) -> dict[str, Any]:
    """The granted entry: what the owner approved (after narrowing), as the app may read it back."""
    [entry] = details_json(grant_details(grant, now))
    return dict(entry)


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
