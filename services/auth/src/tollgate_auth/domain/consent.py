"""Consent: what an app asks for (`tollgate_ai_access` authorization details, RFC 9396), what the owner grants.

The one import for the OAuth layer and the pages; the rules live in modules of their own, all pure (no I/O;
`now` and ids are arguments):

- `access`: the vocabulary (`AccessDetails`, `OwnerChoice`, `ConsentView`, `Decision`, `Template`, …);
- `authorization_details`: the request parameter parsed (`parse_authorization_details`) and written back
  (`details_json`);
- `narrowing`: the owner's choice applied to the ask, never widening it (`narrow`), the `GrantRequest`
  that `grants.new_grant` creates (`grant_request_from`), and a grant read back as details (`grant_details`);
- `grant_requests`: a pending request's lifecycle (pending → approved | denied | expired), what a polling
  device or a code exchange is told (`ensure_approved`, `too_soon`), and device user codes (RFC 8628 §6.1);
- `subgrants`: a child grant for a token exchange (RFC 8693), never wider than its parent (`child_details`);
- `patterns`: whether one model glob allows only what others allow.
"""

from __future__ import annotations

from tollgate_auth.domain.access import (
    DEFAULT_TEMPLATE,
    DETAILS_TYPE,
    AccessDetails,
    BudgetPeriod,
    ConsentView,
    Decision,
    OwnerChoice,
    Template,
    needs_provider_and_models,
    usd_text,
    with_template,
)
from tollgate_auth.domain.authorization_details import details_json, parse_authorization_details
from tollgate_auth.domain.grant_requests import (
    PendingRequest,
    RequestStatus,
    approve,
    deny,
    effective_request_status,
    ensure_approved,
    expire_if_due,
    new_request,
    new_user_code,
    normalize_user_code,
    slow_down,
    too_soon,
)
from tollgate_auth.domain.narrowing import grant_details, grant_request_from, narrow
from tollgate_auth.domain.subgrants import child_details

__all__ = [
    "DEFAULT_TEMPLATE",
    "DETAILS_TYPE",
    "AccessDetails",
    "BudgetPeriod",
    "ConsentView",
    "Decision",
    "OwnerChoice",
    "PendingRequest",
    "RequestStatus",
    "Template",
    "approve",
    "child_details",
    "deny",
    "details_json",
    "effective_request_status",
    "ensure_approved",
    "expire_if_due",
    "grant_details",
    "grant_request_from",
    "narrow",
    "needs_provider_and_models",
    "new_request",
    "new_user_code",
    "normalize_user_code",
    "parse_authorization_details",
    "slow_down",
    "too_soon",
    "usd_text",
    "with_template",
]
