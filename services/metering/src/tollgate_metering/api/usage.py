"""The admin usage API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tollgate_contracts import micro_to_usd
from tollgate_metering.api.deps import AdminOnly, MeteringDep
from tollgate_metering.domain.budget import Account

router = APIRouter(prefix="/v1", tags=["usage"], dependencies=[AdminOnly])


class Usage(BaseModel):
    """A grant's usage against its caps."""

    grant_id: str
    requests: int = Field(description="Requests counted.")
    input_tokens: int
    output_tokens: int
    cost_micro_usd: int = Field(description="Spend, in micro-dollars.")
    cost_usd: str = Field(description="Spend in dollars, six decimals.")
    budget_micro_usd: int | None = Field(description="Spend cap; null = none (or no grant state seen yet).")
    max_requests: int | None = Field(description="Request cap; null = none.")
    exhausted: bool = Field(description="True once a cap is reached.")
    grant_known: bool = Field(
        description="False when usage was counted for a grant metering never had a grant state for."
    )

    @classmethod
    def of(cls, account: Account) -> Usage:
        totals, limits = account.totals, account.limits
        return cls(
            grant_id=account.grant_id,
            requests=totals.requests,
            input_tokens=totals.input_tokens,
            output_tokens=totals.output_tokens,
            cost_micro_usd=totals.cost_micro_usd,
            cost_usd=micro_to_usd(totals.cost_micro_usd),
            budget_micro_usd=limits.budget_micro_usd,
            max_requests=limits.max_requests,
            exhausted=account.exhausted,
            grant_known=account.grant_known,
        )


class PriceView(BaseModel):
    provider: str = Field(description="Provider glob pattern.")
    model: str = Field(description="Model glob pattern.")
    input_micro_usd_per_mtok: int
    output_micro_usd_per_mtok: int


class PriceList(BaseModel):
    data: list[PriceView]
    fallback: PriceView = Field(description="The price of a model no rule matches.")


@router.get("/usage/{grant_id}")
async def get_usage(grant_id: str, metering: MeteringDep) -> Usage:
    """A grant's totals; zeros for a known grant without usage; 404 `grant_not_found` for an unknown one."""
    return Usage.of(await metering.usage(grant_id))


class UnknownGrantsView(BaseModel):
    """Usage counted (never dropped) for grants metering has no grant state for."""

    grants: int = Field(description="How many such grants.")
    requests: int = Field(description="Requests counted under them.")
    cost_micro_usd: int
    cost_usd: str
    grant_ids: list[str] = Field(description="The first of them by id (up to `limit`).")


@router.get("/unknown-grants")
async def get_unknown_grants(
    metering: MeteringDep, limit: Annotated[int, Query(ge=0, le=1000)] = 100
) -> UnknownGrantsView:
    """Grants with usage but no grant state: a grant auth never created, or one whose state is still on its way."""
    unknown = await metering.unknown_grants(limit)
    return UnknownGrantsView(
        grants=unknown.grants,
        requests=unknown.requests,
        cost_micro_usd=unknown.cost_micro_usd,
        cost_usd=micro_to_usd(unknown.cost_micro_usd),
        grant_ids=unknown.grant_ids,
    )


@router.get("/prices")
async def get_prices(metering: MeteringDep) -> PriceList:
    """The price table in effect (most specific match wins; see `domain.pricing`)."""
    table = metering.prices

    def view(provider: str, model: str, input_price: int, output_price: int) -> PriceView:
        return PriceView(
            provider=provider,
            model=model,
            input_micro_usd_per_mtok=input_price,
            output_micro_usd_per_mtok=output_price,
        )

    return PriceList(
        data=[
            view(r.provider, r.model, r.price.input_micro_usd_per_mtok, r.price.output_micro_usd_per_mtok)
            for r in table.rules
        ],
        fallback=view("*", "*", table.fallback.input_micro_usd_per_mtok, table.fallback.output_micro_usd_per_mtok),
    )
