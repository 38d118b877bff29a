"""Usage, budgets, prices and breakers: what the proxies report and what metering decides."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from tollgate_contracts.envelope import Event, StateEvent
from tollgate_contracts.grants import Capability


class UsageRecorded(Event):
    """One proxied request's usage, on `usage.recorded.v1`.

    Published with `request_id` as the JetStream message id (`Nats-Msg-Id`), and
    stored by metering under a unique request id, so it is counted exactly once.
    """

    subject_prefix: ClassVar[str] = "usage.recorded.v1"

    request_id: str = Field(description="Unique request id (`req_…`); the de-duplication key.")
    grant_id: str = Field(description="Grant the request was made under.")
    tenant_id: str = Field(description="Tenant that owns the grant.")
    provider: str = Field(description="Provider the request went to.")
    model: str = Field(description="Model named in the request.")
    capability: Capability = Field(description="Endpoint family called.")
    input_tokens: int = Field(ge=0, description="Prompt tokens (from the provider, or estimated).")
    output_tokens: int = Field(ge=0, description="Completion tokens (from the provider, or estimated).")
    estimated: bool = Field(default=False, description="True when the provider reported no usage and we estimated.")
    streamed: bool = Field(default=False, description="Whether the answer was streamed.")
    status_code: int = Field(description="HTTP status returned to the client.")
    started_at: datetime = Field(description="When the proxy received the request.")
    duration_ms: int = Field(ge=0, description="Time until the last byte was sent to the client.")
    cost_micro_usd: int | None = Field(
        default=None, ge=0, description="The proxy's own pricing, if it had one; metering prices authoritatively."
    )


class BudgetState(StateEvent):
    """A grant's spend against its caps, published by metering on `budget.state.v1.<grant_id>`."""

    subject_prefix: ClassVar[str] = "budget.state.v1"

    grant_id: str = Field(description="The grant this budget belongs to.")
    limit_micro_usd: int | None = Field(default=None, ge=0, description="Spend cap; none = no cap.")
    spent_micro_usd: int = Field(ge=0, description="Spend counted so far.")
    max_requests: int | None = Field(default=None, ge=0, description="Request cap; none = no cap.")
    requests: int = Field(ge=0, description="Requests counted so far.")
    exhausted: bool = Field(description="True once either cap is reached: proxies refuse further requests.")

    @property
    def key(self) -> str:
        return self.grant_id


class BreakerStatus(StrEnum):
    """Circuit-breaker position."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerState(StateEvent):
    """A spend circuit breaker for a scope (`grant.<id>`, `tenant.<id>`), on `breaker.state.v1.<scope>`."""

    subject_prefix: ClassVar[str] = "breaker.state.v1"

    scope: str = Field(description="What the breaker covers; a subject token (no dots): `grant-<id>` or `tenant-<id>`.")
    status: BreakerStatus = Field(description="Open breakers refuse requests in their scope.")
    reason: str | None = Field(default=None, description="Why it tripped.")
    until: datetime | None = Field(default=None, description="When an open breaker moves to half-open.")

    @property
    def key(self) -> str:
        return self.scope


class PriceState(StateEvent):
    """A model's price, on `price.state.v1.<provider>.<model>` (dots in the model name become `_`)."""

    subject_prefix: ClassVar[str] = "price.state.v1"

    provider: str = Field(description="Provider name.")
    model: str = Field(description="Model name as requested.")
    input_micro_usd_per_mtok: int = Field(ge=0, description="Micro-dollars per million input tokens.")
    output_micro_usd_per_mtok: int = Field(ge=0, description="Micro-dollars per million output tokens.")

    @property
    def key(self) -> str:
        return f"{self.provider}.{self.model.replace('.', '_')}"
