"""The owner's choice applied to an ask: what is granted, never more than the app asked for.

Pure. `narrow` is the consent page's rule and `grant_request_from` turns its result into the `GrantRequest`
that `grants.new_grant` validates and creates, so a consented grant obeys the admin API's rules. Sub-grants
(token exchange) narrow a parent grant the same way, in `tollgate_auth.domain.subgrants`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tollgate_auth.domain.access import AccessDetails, BudgetPeriod, OwnerChoice, Template, usd_text, with_template
from tollgate_auth.domain.errors import InvalidRequest, NotNarrower
from tollgate_auth.domain.grants import (
    MAX_BUDGET_MICRO_USD,
    MAX_EXPIRES_IN_SECONDS,
    Grant,
    GrantRequest,
    default_capabilities,
    parse_capabilities,
    parse_count,
    parse_models,
    parse_provider,
)
from tollgate_auth.domain.patterns import uncovered
from tollgate_contracts import Capability, micro_to_usd

__all__ = ["PERIOD_WIDTH", "grant_details", "grant_request_from", "narrow"]

PERIOD_WIDTH = {BudgetPeriod.TOTAL: 0, BudgetPeriod.MONTH: 1, BudgetPeriod.DAY: 2}
"""For one amount, a budget counted over the grant's life allows least and one renewed daily allows most."""


def narrow(asked: AccessDetails, choice: OwnerChoice, *, template: Template | None = None) -> AccessDetails:
    """What is granted: the ask, with the template where the app said nothing, then the owner's choice.

    The choice may only narrow what the app asked for: models covered by an asked pattern, capabilities among
    the asked ones, a budget, caps and expiry no higher, a provider only when none was asked. Pass the app's
    own ask and the template: a template value is a suggestion the owner may exceed, whereas a templated ask
    (`ConsentView.asked`) turns the template's values into ceilings. Raises `NotNarrower` for a widening and
    `InvalidRequest` when the result still lacks a provider or models, or a chosen value is malformed.
    """
    base = with_template(asked, template) if template is not None else asked
    provider = _choose_provider(asked.provider, choice.provider, base.provider)
    models = _choose_models(asked.models, choice.models, base.models)
    capabilities = _choose_capabilities(asked.capabilities, choice.capabilities, base.capabilities, provider)
    budget, period = _choose_budget(asked, choice, base)
    return replace(
        base,
        provider=provider,
        models=models,
        capabilities=capabilities,
        budget_micro_usd=budget,
        budget_period=period,
        max_requests=_at_most("max_requests", asked.max_requests, _count("max_requests", choice.max_requests, 0))
        if choice.max_requests is not None
        else base.max_requests,
        rpm=_at_most("rpm", asked.rpm, _count("rpm", choice.rpm, 1)) if choice.rpm is not None else base.rpm,
        tpm=_at_most("tpm", asked.tpm, _count("tpm", choice.tpm, 1)) if choice.tpm is not None else base.tpm,
        expires_in_seconds=_at_most("expires_in", asked.expires_in_seconds, _expiry(choice.expires_in_seconds))
        if choice.expires_in_seconds is not None
        else base.expires_in_seconds,
    )


def grant_request_from(
    details: AccessDetails, *, app_name: str | None, parent_grant_id: str | None = None
) -> GrantRequest:
    """The `GrantRequest` that `grants.new_grant` turns into the granted grant; provider and models required.

    `parent_grant_id` names the parent of a sub-grant (token exchange, `subgrants.child_details`).
    """
    if details.provider is None or details.models is None:
        raise InvalidRequest("provider and models: the owner must choose them before the grant can be created")
    return GrantRequest(
        provider=details.provider,
        models=list(details.models),
        app_name=app_name,
        capabilities=None if details.capabilities is None else [c.value for c in details.capabilities],
        budget_usd=None if details.budget_micro_usd is None else micro_to_usd(details.budget_micro_usd),
        max_requests=details.max_requests,
        rpm=details.rpm,
        tpm=details.tpm,
        expires_in_seconds=details.expires_in_seconds,
        budget_period=details.budget_period,
        parent_grant_id=parent_grant_id,
    )


def grant_details(grant: Grant, now: datetime) -> AccessDetails:
    """What a grant allows, as `AccessDetails` (for `details_json` in token and introspection responses).

    `expires_in` counts from `now` (whole seconds, rounded down so it never reaches past the grant); a grant
    that never expires has none. `reason` is not kept on a grant, so it is not given back.
    """
    expires_in = None
    if grant.expires_at is not None:
        expires_in = max(0, int((grant.expires_at - now).total_seconds()))
    return AccessDetails(
        provider=grant.provider,
        models=grant.models,
        capabilities=grant.capabilities,
        budget_micro_usd=grant.budget_micro_usd,
        budget_period=grant.budget_period,
        max_requests=grant.max_requests,
        rpm=grant.rpm,
        tpm=grant.tpm,
        expires_in_seconds=expires_in,
    )


def _choose_provider(asked: str | None, chosen: str | None, base: str | None) -> str:
    if chosen is not None:
        chosen = parse_provider(chosen)
        if asked is not None and chosen != asked:
            raise NotNarrower(f"provider: the app asked for {asked!r}; another provider cannot be granted")
        return chosen
    if base is None:
        raise InvalidRequest("provider: the app named none; choose one")
    return base


def _choose_models(
    asked: tuple[str, ...] | None, chosen: tuple[str, ...] | None, base: tuple[str, ...] | None
) -> tuple[str, ...]:
    if chosen is None:
        if base is None:
            raise InvalidRequest("models: the app named none; choose at least one")
        return base
    models = parse_models(chosen)
    if asked is not None:
        wider = uncovered(models, asked)
        if wider:
            raise NotNarrower(
                f"models: {', '.join(repr(m) for m in wider[:3])} not within what the app asked for "
                f"({', '.join(asked[:5])})"
            )
    return models


def _choose_capabilities(
    asked: tuple[Capability, ...] | None,
    chosen: tuple[Capability, ...] | None,
    base: tuple[Capability, ...] | None,
    provider: str,
) -> tuple[Capability, ...]:
    if chosen is None:
        return base if base is not None else default_capabilities(provider)
    capabilities = parse_capabilities([c.value for c in chosen], provider)
    if asked is not None:
        extra = [c.value for c in capabilities if c not in asked]
        if extra:
            raise NotNarrower(f"capabilities: {', '.join(extra)} not asked for by the app")
    return capabilities


def _choose_budget(asked: AccessDetails, choice: OwnerChoice, base: AccessDetails) -> tuple[int | None, BudgetPeriod]:
    if choice.budget_micro_usd is None and choice.budget_period is None:
        return base.budget_micro_usd, base.budget_period
    amount = base.budget_micro_usd if choice.budget_micro_usd is None else _budget(choice.budget_micro_usd)
    period = choice.budget_period if choice.budget_period is not None else base.budget_period
    if asked.budget_micro_usd is not None:
        if amount is None or amount > asked.budget_micro_usd:
            shown = "no limit" if amount is None else f"${usd_text(amount)}"
            raise NotNarrower(f"budget: {shown} is more than the ${usd_text(asked.budget_micro_usd)} asked for")
        if PERIOD_WIDTH[period] > PERIOD_WIDTH[asked.budget_period]:
            raise NotNarrower(
                f"budget: per {period.value} allows more than the {asked.budget_period.value} budget asked for"
            )
    return amount, period


def _at_most(name: str, asked: int | None, chosen: int) -> int:
    if asked is not None and chosen > asked:
        raise NotNarrower(f"{name}: {chosen} is more than the {asked} asked for")
    return chosen


def _count(name: str, raw: int, minimum: int) -> int:
    value = parse_count(name, raw, minimum)
    if value is None:  # parse_count answers None only for None, which no caller passes
        raise InvalidRequest(f"{name}: missing")
    return value


def _budget(micro: int) -> int:
    if isinstance(micro, bool) or not isinstance(micro, int) or not 0 <= micro <= MAX_BUDGET_MICRO_USD:
        raise InvalidRequest(f"budget: must be from 0 to {MAX_BUDGET_MICRO_USD // 1_000_000} dollars")
    return micro


def _expiry(seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds <= MAX_EXPIRES_IN_SECONDS:
        raise InvalidRequest(f"expires_in: must be a whole number of seconds from 1 to {MAX_EXPIRES_IN_SECONDS}")
    return seconds
