"""The metering schema.

Tables are declared schema-less; PostgreSQL places them in the service's own schema through
`schema_translate_map`. Money and token counts are BIGINT: INTEGER would overflow at $2,147 in micro-dollars.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, false
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from tollgate_servicekit.sqltypes import UtcDateTime


class MeteringModel(SQLModel, registry=registry()):
    """Base of metering's tables: a registry (and metadata) of its own, so another service's tables loaded in
    the same process never end up in metering's `create_all`."""


class UsageRow(MeteringModel, table=True):
    """The usage ledger: one row per request, ever. The primary key on `request_id` is what makes counting
    idempotent."""

    __tablename__ = "usage_ledger"

    request_id: str = Field(primary_key=True)
    event_id: str
    grant_id: str = Field(index=True)
    tenant_id: str
    provider: str
    model: str
    capability: str
    input_tokens: int = Field(sa_type=BigInteger)
    output_tokens: int = Field(sa_type=BigInteger)
    cost_micro_usd: int = Field(sa_type=BigInteger)
    estimated: bool
    streamed: bool
    status_code: int
    started_at: datetime = Field(sa_type=UtcDateTime)
    duration_ms: int = Field(sa_type=BigInteger)
    recorded_at: datetime = Field(sa_type=UtcDateTime)
    unknown_grant: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=false()),
        description="True when no GrantState had been seen for the grant when this row was counted.",
    )


class AccountRow(MeteringModel, table=True):
    """Per-grant caps and running totals. Totals change only through `SET x = x + :v`; `version` increases
    with every change and becomes the BudgetState's `state_version`."""

    __tablename__ = "grant_account"

    grant_id: str = Field(primary_key=True)
    tenant_id: str | None = None
    budget_micro_usd: int | None = Field(default=None, sa_type=BigInteger)
    max_requests: int | None = Field(default=None, sa_type=BigInteger)
    grant_version: int = Field(default=0, sa_type=BigInteger)
    requests: int = Field(default=0, sa_type=BigInteger)
    input_tokens: int = Field(default=0, sa_type=BigInteger)
    output_tokens: int = Field(default=0, sa_type=BigInteger)
    cost_micro_usd: int = Field(default=0, sa_type=BigInteger)
    version: int = Field(default=0, sa_type=BigInteger)


class PriceRow(MeteringModel, table=True):
    """The price table as last published, so a changed price gets a higher PriceState version."""

    __tablename__ = "price"

    provider: str = Field(primary_key=True)
    model: str = Field(primary_key=True)
    input_micro_usd_per_mtok: int = Field(sa_type=BigInteger)
    output_micro_usd_per_mtok: int = Field(sa_type=BigInteger)
    version: int = Field(default=1, sa_type=BigInteger)
