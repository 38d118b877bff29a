"""Grants: what a delegated app may do. Validation and lifecycle rules, free of I/O.

A grant's `version` starts at 1 and grows by one with every change; it is the
`state_version` of the `GrantState` published for it, so consumers keep the newest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tollgate_auth.domain.errors import GrantNotUsable, InvalidRequest
from tollgate_contracts import BudgetPeriod, Capability, ErrorCode, GrantState, GrantStatus, usd_to_micro
from tollgate_servicekit.redaction import clip

PROVIDER_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,62}")
MAX_MODELS = 100
MAX_MODEL_LENGTH = 200
MAX_APP_NAME_LENGTH = 200
MAX_BUDGET_MICRO_USD = 10**15
"""A billion dollars: far above any sane cap, and far below a 64-bit column's limit."""
MAX_COUNT = 10**12
MAX_EXPIRES_IN_SECONDS = 10 * 366 * 24 * 3600


@dataclass(frozen=True)
class Grant:
    id: str
    tenant_id: str
    app_name: str | None
    status: GrantStatus
    provider: str
    models: tuple[str, ...]
    capabilities: tuple[Capability, ...]
    budget_micro_usd: int | None
    max_requests: int | None
    rpm: int | None
    tpm: int | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    version: int
    budget_period: BudgetPeriod = BudgetPeriod.TOTAL
    parent_grant_id: str | None = None
    """The grant a sub-grant was exchanged from (RFC 8693); its spend counts against the parent too."""


@dataclass(frozen=True)
class GrantRequest:
    """A grant as asked for, before validation. Field names follow the HTTP API."""

    provider: str
    models: Sequence[str]
    app_name: str | None = None
    capabilities: Sequence[str] | None = None
    budget_usd: str | int | float | None = None
    max_requests: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    expires_in_seconds: int | None = None
    budget_period: BudgetPeriod = BudgetPeriod.TOTAL
    parent_grant_id: str | None = None


def parse_provider(raw: str) -> str:
    if not PROVIDER_PATTERN.fullmatch(raw):
        raise InvalidRequest(
            f"provider: {clip(raw)!r} is not a provider name "
            "(lowercase letters, digits, '-' or '_', starting with a letter)"
        )
    return raw


def parse_models(raw: Sequence[str]) -> tuple[str, ...]:
    """The model allowlist: at least one name or glob pattern, no blanks, duplicates dropped."""
    if isinstance(raw, str):
        raise InvalidRequest("models: must be a list of model names")
    if not raw:
        raise InvalidRequest("models: at least one model (or pattern such as 'gpt-4o*') is required")
    if len(raw) > MAX_MODELS:
        raise InvalidRequest(f"models: at most {MAX_MODELS} entries")
    for model in raw:
        if not model or len(model) > MAX_MODEL_LENGTH or any(ch.isspace() for ch in model) or not model.isprintable():
            raise InvalidRequest(
                f"models: {clip(model)!r} is not a model name (1-{MAX_MODEL_LENGTH} characters, no spaces)"
            )
    return tuple(dict.fromkeys(raw))


def default_capabilities(provider: str) -> tuple[Capability, ...]:
    return (Capability.MESSAGES,) if provider == "anthropic" else (Capability.CHAT,)


def parse_capabilities(raw: Sequence[str] | None, provider: str) -> tuple[Capability, ...]:
    if raw is None:
        return default_capabilities(provider)
    if isinstance(raw, str):
        raise InvalidRequest("capabilities: must be a list")
    if not raw:
        raise InvalidRequest("capabilities: must not be empty (omit it for the provider's default)")
    known = {c.value: c for c in Capability}
    parsed = []
    for value in raw:
        if value not in known:
            raise InvalidRequest(
                f"capabilities: unknown capability {clip(value)!r} (expected one of {', '.join(known)})"
            )
        parsed.append(known[value])
    return tuple(dict.fromkeys(parsed))


def parse_budget(raw: str | int | float | None) -> int | None:
    """Dollars (a string such as "5.25", or a JSON number) to micro-dollars."""
    if raw is None:
        return None
    # bool is an int in Python, and `true` dollars is a mistake, not a budget.
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidRequest('budget_usd: must be a dollar amount such as "5.00"')
    text = raw.strip() if isinstance(raw, str) else repr(raw)
    try:
        micro = usd_to_micro(text)
    except ValueError as exc:
        # The parser's message quotes the amount: clipped, so a megabyte "amount" is not sent back.
        raise InvalidRequest(f"budget_usd: {clip(exc, 120)}") from None
    if micro > MAX_BUDGET_MICRO_USD:
        raise InvalidRequest(f"budget_usd: at most {MAX_BUDGET_MICRO_USD // 1_000_000} dollars")
    return micro


def parse_count(name: str, raw: int | None, minimum: int) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not minimum <= raw <= MAX_COUNT:
        raise InvalidRequest(f"{name}: must be a whole number from {minimum} to {MAX_COUNT}")
    return raw


def parse_expiry(raw: int | None, now: datetime) -> datetime | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or raw <= 0:
        raise InvalidRequest("expires_in_seconds: must be greater than 0")
    if raw > MAX_EXPIRES_IN_SECONDS:
        raise InvalidRequest(f"expires_in_seconds: at most {MAX_EXPIRES_IN_SECONDS} (ten years)")
    return now + timedelta(seconds=raw)


def parse_app_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    name = raw.strip()
    if not name:
        return None
    if len(name) > MAX_APP_NAME_LENGTH or not name.isprintable():
        raise InvalidRequest(f"app_name: at most {MAX_APP_NAME_LENGTH} printable characters")
    return name


def new_grant(request: GrantRequest, *, grant_id: str, tenant_id: str, now: datetime) -> Grant:
    """A validated, active grant (grants made through the admin API need no consent)."""
    provider = parse_provider(request.provider)
    return Grant(
        id=grant_id,
        tenant_id=tenant_id,
        app_name=parse_app_name(request.app_name),
        status=GrantStatus.ACTIVE,
        provider=provider,
        models=parse_models(request.models),
        capabilities=parse_capabilities(request.capabilities, provider),
        budget_micro_usd=parse_budget(request.budget_usd),
        max_requests=parse_count("max_requests", request.max_requests, 0),
        rpm=parse_count("rpm", request.rpm, 1),
        tpm=parse_count("tpm", request.tpm, 1),
        created_at=now,
        updated_at=now,
        expires_at=parse_expiry(request.expires_in_seconds, now),
        revoked_at=None,
        version=1,
        budget_period=request.budget_period,
        parent_grant_id=request.parent_grant_id,
    )


def effective_status(grant: Grant, now: datetime) -> GrantStatus:
    """The status a caller should see: an active grant past its expiry is expired, whatever is stored."""
    if grant.status is GrantStatus.ACTIVE and grant.expires_at is not None and grant.expires_at <= now:
        return GrantStatus.EXPIRED
    return grant.status


def ensure_usable(grant: Grant, now: datetime) -> None:
    """Raise unless the grant may be used right now (to mint a token or bind an API key)."""
    status = effective_status(grant, now)
    if status is GrantStatus.ACTIVE:
        return
    code = {
        GrantStatus.REVOKED: ErrorCode.GRANT_REVOKED.value,
        GrantStatus.EXPIRED: ErrorCode.GRANT_EXPIRED.value,
    }.get(status, GrantNotUsable.code)
    raise GrantNotUsable(f"grant {grant.id} is {status.value}", code=code)


def revoke(grant: Grant, now: datetime) -> Grant | None:
    """The revoked grant, or None when there is nothing to change (already revoked, denied or expired)."""
    if grant.status not in (GrantStatus.ACTIVE, GrantStatus.PENDING):
        return None
    return replace(grant, status=GrantStatus.REVOKED, revoked_at=now, updated_at=now, version=grant.version + 1)


def grant_state(grant: Grant, producer: str) -> GrantState:
    """The full state published on `grant.state.v1.<id>`; it happened when the grant last changed."""
    return GrantState(
        producer=producer,
        occurred_at=grant.updated_at,
        state_version=grant.version,
        grant_id=grant.id,
        tenant_id=grant.tenant_id,
        app_name=grant.app_name,
        status=grant.status,
        provider=grant.provider,
        models=grant.models,
        capabilities=grant.capabilities,
        budget_micro_usd=grant.budget_micro_usd,
        max_requests=grant.max_requests,
        rpm=grant.rpm,
        tpm=grant.tpm,
        created_at=grant.created_at,
        expires_at=grant.expires_at,
        revoked_at=grant.revoked_at,
        budget_period=grant.budget_period,
        parent_grant_id=grant.parent_grant_id,
    )
