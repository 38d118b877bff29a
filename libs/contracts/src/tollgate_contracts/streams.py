"""JetStream stream definitions, as data. `tollgate_contracts.bus.ensure_streams` applies them.

State streams keep one message per subject (the entity's current state): a
consumer that replays the last message per subject has the whole state.
Event streams keep every message for a retention window.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from tollgate_contracts.apikeys import ApiKeyState
from tollgate_contracts.credentials import CredentialState
from tollgate_contracts.envelope import Message
from tollgate_contracts.grants import GrantState
from tollgate_contracts.metering import BreakerState, BudgetState, PriceState, UsageRecorded
from tollgate_contracts.tenants import TenantState
from tollgate_contracts.tokens import SigningKeyState, TokenRevoked

DAY = 24 * 3600


class StreamKind(StrEnum):
    """State streams hold current state; event streams hold history."""

    STATE = "state"
    EVENTS = "events"


class StreamSpec(Message):
    """What a stream is called, what it captures and how long it keeps it."""

    name: str = Field(description="JetStream stream name.")
    kind: StreamKind = Field(description="State (last message per subject) or events (history).")
    subjects: tuple[str, ...] = Field(description="Subjects the stream captures (wildcards allowed here only).")
    max_msgs_per_subject: int = Field(default=-1, description="1 for state streams; -1 = unlimited.")
    max_age_seconds: int = Field(default=0, ge=0, description="Retention by age; 0 = forever.")
    duplicate_window_seconds: int = Field(default=120, ge=0, description="Publish de-duplication window.")
    replicas: int = Field(default=1, ge=1, le=5, description="Replicas in a cluster (usage wants 3).")


def _state(name: str, prefix: str, max_age: int = 0) -> StreamSpec:
    return StreamSpec(
        name=name, kind=StreamKind.STATE, subjects=(f"{prefix}.>",), max_msgs_per_subject=1, max_age_seconds=max_age
    )


GRANTS = _state("TG_GRANTS", GrantState.subject_prefix)
APIKEYS = _state("TG_APIKEYS", ApiKeyState.subject_prefix)
# A revoked token only matters until it would have expired; tokens live minutes, refresh families days.
REVOKED_TOKENS = _state("TG_REVOKED_TOKENS", TokenRevoked.subject_prefix, max_age=7 * DAY)
JWKS = _state("TG_JWKS", SigningKeyState.subject_prefix)
CREDENTIALS = _state("TG_CREDENTIALS", CredentialState.subject_prefix)
BUDGETS = _state("TG_BUDGETS", BudgetState.subject_prefix)
BREAKERS = _state("TG_BREAKERS", BreakerState.subject_prefix)
PRICES = _state("TG_PRICES", PriceState.subject_prefix)
# Read by keyvault with a direct get of one subject's last message (the stream allows direct get).
TENANTS = _state("TG_TENANTS", TenantState.subject_prefix)
USAGE = StreamSpec(
    name="TG_USAGE",
    kind=StreamKind.EVENTS,
    subjects=(UsageRecorded.subject_prefix,),
    max_age_seconds=30 * DAY,
    # Long enough to cover a proxy replaying its spool after an outage of a few minutes.
    duplicate_window_seconds=3600,
)
AUDIT = StreamSpec(name="TG_AUDIT", kind=StreamKind.EVENTS, subjects=("audit.*.v1",), max_age_seconds=90 * DAY)

ALL_STREAMS: tuple[StreamSpec, ...] = (
    GRANTS,
    APIKEYS,
    REVOKED_TOKENS,
    JWKS,
    CREDENTIALS,
    BUDGETS,
    BREAKERS,
    PRICES,
    TENANTS,
    USAGE,
    AUDIT,
)
"""Every stream Tollgate uses."""

POLICY_STREAMS: tuple[StreamSpec, ...] = (GRANTS, APIKEYS, REVOKED_TOKENS, JWKS, CREDENTIALS, BUDGETS, BREAKERS)
"""The state streams a proxy replica hydrates its policy cache from (not tenants: a request names a grant, and
the grant names its tenant)."""
