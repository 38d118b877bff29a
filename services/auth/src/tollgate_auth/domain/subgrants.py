"""Sub-grants for sub-agents (token exchange, RFC 8693): a child grant never wider than its parent.

An app holding a grant exchanges its token for one of a child grant: a subset of the parent's models and
capabilities, a sub-budget, caps no higher and an expiry no later. What the child does not say it inherits
from the parent (the budget: what the parent may still spend). The child's spend also counts against the
parent (`Grant.parent_grant_id`; metering enforces it), so a child cannot be used to spend the parent twice.
Asking for more is refused with `ExceedsParent` (`invalid_request`, as RFC 8693 §2.2.2 requires for a request
its policy does not accept); a parent that is not usable is refused the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tollgate_auth.domain.access import AccessDetails, usd_text
from tollgate_auth.domain.errors import ExceedsParent, GrantNotUsable
from tollgate_auth.domain.grants import Grant, ensure_usable
from tollgate_auth.domain.narrowing import PERIOD_WIDTH
from tollgate_auth.domain.patterns import uncovered
from tollgate_contracts import BudgetPeriod

__all__ = ["child_details"]


def child_details(
    parent: Grant, asked: AccessDetails, now: datetime, *, parent_remaining_micro_usd: int | None = None
) -> AccessDetails:
    """What the child grant allows: `asked`, checked against `parent`, with the parent's values where it is silent.

    `parent_remaining_micro_usd` is what the parent may still spend (metering's last word; None when unknown,
    then only the parent's budget bounds the child). Fully specified: every field is set that the parent sets.
    """
    try:
        ensure_usable(parent, now)
    except GrantNotUsable as exc:
        raise ExceedsParent(f"the parent grant cannot be exchanged: {exc.message}") from None
    if asked.provider is not None and asked.provider != parent.provider:
        raise ExceedsParent(f"provider: the parent grant is for {parent.provider!r}, not {asked.provider!r}")
    models = parent.models if asked.models is None else asked.models
    wider = uncovered(models, parent.models)
    if wider:
        raise ExceedsParent(
            f"models: {', '.join(repr(m) for m in wider[:3])} not within the parent grant's "
            f"({', '.join(parent.models[:5])})"
        )
    capabilities = parent.capabilities if asked.capabilities is None else asked.capabilities
    extra = [c.value for c in capabilities if c not in parent.capabilities]
    if extra:
        raise ExceedsParent(f"capabilities: {', '.join(extra)} not allowed by the parent grant")
    budget, period = _budget(parent, asked, parent_remaining_micro_usd)
    return AccessDetails(
        provider=parent.provider,
        models=models,
        capabilities=capabilities,
        budget_micro_usd=budget,
        budget_period=period,
        max_requests=_cap("max_requests", parent.max_requests, asked.max_requests),
        rpm=_cap("rpm", parent.rpm, asked.rpm),
        tpm=_cap("tpm", parent.tpm, asked.tpm),
        expires_in_seconds=_expiry(parent, asked.expires_in_seconds, now),
        reason=asked.reason,
        locations=asked.locations,
    )


def _budget(parent: Grant, asked: AccessDetails, remaining: int | None) -> tuple[int | None, BudgetPeriod]:
    limits = [b for b in (parent.budget_micro_usd, remaining) if b is not None]
    limit = min(limits) if limits else None
    if asked.budget_micro_usd is None:
        # Silent: the child may spend what the parent still may, counted the parent's way.
        return limit, parent.budget_period
    if limit is not None and asked.budget_micro_usd > limit:
        left = "has left" if remaining is not None and limit == remaining else "allows"
        raise ExceedsParent(
            f"budget: ${usd_text(asked.budget_micro_usd)} is more than the ${usd_text(limit)} the parent grant {left}"
        )
    if parent.budget_micro_usd is not None and PERIOD_WIDTH[asked.budget_period] > PERIOD_WIDTH[parent.budget_period]:
        raise ExceedsParent(
            f"budget: per {asked.budget_period.value} allows more than the parent's {parent.budget_period.value} budget"
        )
    return asked.budget_micro_usd, asked.budget_period


def _cap(name: str, parent: int | None, asked: int | None) -> int | None:
    if asked is None:
        return parent
    if parent is not None and asked > parent:
        raise ExceedsParent(f"{name}: {asked} is more than the parent grant's {parent}")
    return asked


def _expiry(parent: Grant, asked: int | None, now: datetime) -> int | None:
    """Seconds from `now`; never past the parent's expiry (rounded down, so a child never outlives it)."""
    if parent.expires_at is None:
        return asked
    left = int((parent.expires_at - now).total_seconds())
    if left <= 0:
        raise ExceedsParent("expires_in: the parent grant expires within a second")
    if asked is None:
        return left
    if now + timedelta(seconds=asked) > parent.expires_at:
        raise ExceedsParent(f"expires_in: {asked} seconds would outlive the parent grant (at most {left})")
    return asked
