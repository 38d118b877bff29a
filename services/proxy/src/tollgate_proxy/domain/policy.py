"""Whether a grant lets one request through, decided from cached state only.

Checked in order: the grant is active, not expired, not revoked; the endpoint's
capability is allowed; the model matches the allowlist (`*`/`?` globs,
case-sensitive); no open breaker covers the grant or its tenant; the budget is
not exhausted; the request cap is not reached. The first failure is the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from fnmatch import fnmatchcase

from tollgate_contracts import (
    BreakerState,
    BreakerStatus,
    BudgetState,
    Capability,
    ErrorCode,
    GrantState,
    GrantStatus,
)
from tollgate_proxy.domain.errors import Forbidden, LimitReached, Unavailable


def model_allowed(model: str, patterns: Iterable[str]) -> bool:
    """True when `model` equals or matches one of the allowlist patterns."""
    return any(model == pattern or fnmatchcase(model, pattern) for pattern in patterns)


def breaker_scopes(grant: GrantState) -> tuple[str, str]:
    """The breaker scopes that cover a grant (`grant-<id>`, `tenant-<id>`)."""
    return f"grant-{grant.grant_id}", f"tenant-{grant.tenant_id}"


def check_grant(grant: GrantState, now: datetime) -> None:
    """The grant itself is usable right now."""
    if grant.status is GrantStatus.REVOKED or grant.revoked_at is not None:
        raise Forbidden(ErrorCode.GRANT_REVOKED, f"grant {grant.grant_id} has been revoked")
    if grant.status is GrantStatus.EXPIRED or (grant.expires_at is not None and now >= grant.expires_at):
        raise Forbidden(ErrorCode.GRANT_EXPIRED, f"grant {grant.grant_id} has expired")
    if grant.status is not GrantStatus.ACTIVE:
        raise Forbidden(ErrorCode.GRANT_NOT_FOUND, f"grant {grant.grant_id} is {grant.status.value}, not active")


def _breaker_open(breaker: BreakerState, now: datetime) -> bool:
    return breaker.status is BreakerStatus.OPEN and (breaker.until is None or now < breaker.until)


def evaluate(
    grant: GrantState,
    *,
    capability: Capability,
    model: str,
    now: datetime,
    budget: BudgetState | None = None,
    breakers: Iterable[BreakerState] = (),
    unreported_requests: int = 0,
) -> None:
    """Raise the first reason the request may not go through; return when it may.

    `unreported_requests` are requests this replica let through that the latest
    budget state does not count yet, so a request cap holds between updates.
    """
    check_grant(grant, now)
    if capability not in grant.capabilities:
        raise Forbidden(
            ErrorCode.CAPABILITY_NOT_ALLOWED, f"grant {grant.grant_id} does not allow the {capability.value} endpoint"
        )
    if not model_allowed(model, grant.models):
        raise Forbidden(ErrorCode.MODEL_NOT_ALLOWED, f"grant {grant.grant_id} does not allow model {model!r}")
    for breaker in breakers:
        if _breaker_open(breaker, now):
            retry_after = None
            if breaker.until is not None:
                retry_after = max(1, int((breaker.until - now).total_seconds()) + 1)
            raise Unavailable(ErrorCode.BREAKER_OPEN, f"spend breaker {breaker.scope} is open", retry_after=retry_after)
    check_budget(grant, budget, unreported_requests)


def check_budget(grant: GrantState, budget: BudgetState | None, unreported_requests: int = 0) -> None:
    """The spend and request caps still leave room for one more request."""
    spent = budget.spent_micro_usd if budget is not None else 0
    limit = grant.budget_micro_usd
    if (budget is not None and budget.exhausted) or (limit is not None and spent >= limit):
        raise LimitReached(
            ErrorCode.BUDGET_EXHAUSTED, f"grant {grant.grant_id} has used its budget", should_retry=False
        )
    cap = grant.max_requests if grant.max_requests is not None else (budget.max_requests if budget else None)
    if cap is not None:
        counted = (budget.requests if budget is not None else 0) + unreported_requests
        if counted >= cap:
            raise LimitReached(
                ErrorCode.REQUEST_LIMIT_REACHED,
                f"grant {grant.grant_id} has made its {cap} allowed requests",
                should_retry=False,
            )
