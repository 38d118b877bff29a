"""A priced usage record as the ledger stores it, and the running totals of a grant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tollgate_contracts import UsageRecorded
from tollgate_metering.domain.errors import InvalidUsage
from tollgate_metering.domain.pricing import PriceTable

MAX_TOKENS = 10**12
"""More tokens than any request could use: such a record is corrupt, and would overflow the ledger's BIGINTs."""


@dataclass(frozen=True)
class LedgerEntry:
    """One usage record with metering's own price; `request_id` is unique in the ledger."""

    request_id: str
    event_id: str
    grant_id: str
    tenant_id: str
    provider: str
    model: str
    capability: str
    input_tokens: int
    output_tokens: int
    cost_micro_usd: int
    estimated: bool
    streamed: bool
    status_code: int
    started_at: datetime
    duration_ms: int
    recorded_at: datetime

    @classmethod
    def price(cls, record: UsageRecorded, prices: PriceTable, now: datetime) -> LedgerEntry:
        """Price a usage record. The proxy's own `cost_micro_usd` is ignored: metering prices authoritatively.

        Raises InvalidUsage for token counts no request could have (so they can never be stored)."""
        if record.input_tokens > MAX_TOKENS or record.output_tokens > MAX_TOKENS:
            raise InvalidUsage(f"usage record {record.request_id} has implausible token counts")
        return cls(
            request_id=record.request_id,
            event_id=record.event_id,
            grant_id=record.grant_id,
            tenant_id=record.tenant_id,
            provider=record.provider,
            model=record.model,
            capability=record.capability.value,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            cost_micro_usd=prices.cost(record.provider, record.model, record.input_tokens, record.output_tokens),
            estimated=record.estimated,
            streamed=record.streamed,
            status_code=record.status_code,
            started_at=record.started_at,
            duration_ms=record.duration_ms,
            recorded_at=now,
        )


@dataclass(frozen=True)
class Totals:
    """What a grant has used so far."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micro_usd: int = 0

    def add(self, entry: LedgerEntry) -> Totals:
        return Totals(
            requests=self.requests + 1,
            input_tokens=self.input_tokens + entry.input_tokens,
            output_tokens=self.output_tokens + entry.output_tokens,
            cost_micro_usd=self.cost_micro_usd + entry.cost_micro_usd,
        )
