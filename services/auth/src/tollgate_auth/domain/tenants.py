"""Tenants: the owners of grants and provider credentials.

A tenant's id is the last token of its `tenant.state.v1.<tenant_id>` subject, so it must be one plain subject
token; ids are generated (`tnt_` + Crockford base32), never taken from a caller. Auth cannot disable a tenant
yet, and a tenant never changes once created: every stored tenant is published as active, at version 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tollgate_auth.domain.errors import InvalidRequest
from tollgate_contracts import TenantState, TenantStatus, is_subject_token

MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    created_at: datetime


def tenant_name(raw: str) -> str:
    """The tenant name to store: stripped, 1 to 100 printable characters."""
    name = raw.strip()
    if not name:
        raise InvalidRequest("name: must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"name: at most {MAX_NAME_LENGTH} characters")
    if not name.isprintable():
        raise InvalidRequest("name: must not contain control characters")
    return name


def new_tenant(raw_name: str, *, tenant_id: str, now: datetime) -> Tenant:
    if not is_subject_token(tenant_id):
        # Ids are ours, not the caller's: a bad one is a bug in the id source, refused before anything is stored.
        raise ValueError("a tenant id must be one plain subject token")
    return Tenant(id=tenant_id, name=tenant_name(raw_name), created_at=now)


TENANT_VERSION = 1
"""The `state_version` of every tenant's state: a tenant never changes (yet), so its first state is its last."""


def tenant_state(tenant: Tenant, producer: str) -> TenantState:
    """The full state published on `tenant.state.v1.<id>`; it happened when the tenant was created."""
    return TenantState(
        producer=producer,
        occurred_at=tenant.created_at,
        state_version=TENANT_VERSION,
        tenant_id=tenant.id,
        name=tenant.name,
        status=TenantStatus.ACTIVE,
        created_at=tenant.created_at,
    )
