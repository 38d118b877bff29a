"""Consent: what an app asks for (`tollgate_ai_access` authorization details, RFC 9396), what the owner grants.

The one import for the OAuth layer and the pages; the rules live in modules of their own, all pure (no I/O;
`now` and ids are arguments):

- `access`: the vocabulary (`AccessDetails`, `OwnerChoice`, `ConsentView`, `Decision`, `Template`, …);
- `authorization_details`: the request parameter parsed (`parse_authorization_details`) and written back
  (`details_json`);
- `narrowing`: the owner's choice applied to the ask, never widening it (`narrow`), and the `GrantRequest`
  that `grants.new_grant` creates (`grant_request_from`);
- `grant_requests`: a pending request's lifecycle (pending → approved | denied | expired) and device user codes;
- `subgrants`: a child grant for a token exchange (RFC 8693), never wider than its parent.
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
from tollgate_auth.domain.narrowing import grant_request_from, narrow

__all__ = [
    "DEFAULT_TEMPLATE",
    "DETAILS_TYPE",
    "AccessDetails",
    "BudgetPeriod",
    "ConsentView",
    "Decision",
    "OwnerChoice",
    "Template",
    "details_json",
    "grant_request_from",
    "narrow",
    "needs_provider_and_models",
    "parse_authorization_details",
    "usd_text",
    "with_template",
]
