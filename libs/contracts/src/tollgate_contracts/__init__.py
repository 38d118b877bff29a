"""Tollgate's shared language: the v1 events, request/reply models, subjects and streams.

Every service imports this package and nothing of another service. It depends
on pydantic alone and does no I/O; `tollgate_contracts.bus` (the `nats` extra)
applies the stream definitions to a server.
"""

from tollgate_contracts.apikeys import ApiKeyState, ApiKeyStatus
from tollgate_contracts.audit import AuditEvent
from tollgate_contracts.credentials import CredentialState, CredentialStatus
from tollgate_contracts.envelope import Event, Message, StateEvent, is_subject_token, utcnow
from tollgate_contracts.errors import ErrorBody, ErrorCode, ErrorDetail
from tollgate_contracts.grants import BudgetPeriod, Capability, GrantState, GrantStatus
from tollgate_contracts.ids import new_id
from tollgate_contracts.metering import BreakerState, BreakerStatus, BudgetState, PriceState, UsageRecorded
from tollgate_contracts.money import MICRO_PER_USD, micro_to_usd, usd_to_micro
from tollgate_contracts.rpc import SEAL_INFO, LeaseReply, LeaseRequest, SealReply, SealRequest
from tollgate_contracts.streams import ALL_STREAMS, POLICY_STREAMS, StreamKind, StreamSpec
from tollgate_contracts.tenants import TenantState, TenantStatus
from tollgate_contracts.tokens import (
    TOKEN_AUDIENCE,
    TOKEN_ISSUER,
    SigningKeyState,
    SigningKeyStatus,
    TokenRevoked,
)

__all__ = [
    "ALL_STREAMS",
    "MICRO_PER_USD",
    "POLICY_STREAMS",
    "SEAL_INFO",
    "TOKEN_AUDIENCE",
    "TOKEN_ISSUER",
    "ApiKeyState",
    "ApiKeyStatus",
    "AuditEvent",
    "BreakerState",
    "BreakerStatus",
    "BudgetPeriod",
    "BudgetState",
    "Capability",
    "CredentialState",
    "CredentialStatus",
    "ErrorBody",
    "ErrorCode",
    "ErrorDetail",
    "Event",
    "GrantState",
    "GrantStatus",
    "LeaseReply",
    "LeaseRequest",
    "Message",
    "PriceState",
    "SealReply",
    "SealRequest",
    "SigningKeyState",
    "SigningKeyStatus",
    "StateEvent",
    "StreamKind",
    "StreamSpec",
    "TenantState",
    "TenantStatus",
    "TokenRevoked",
    "UsageRecorded",
    "is_subject_token",
    "micro_to_usd",
    "new_id",
    "usd_to_micro",
    "utcnow",
]
