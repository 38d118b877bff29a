"""Tenants: the owners of grants and provider credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tollgate_auth.domain.errors import InvalidRequest

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
    return Tenant(id=tenant_id, name=tenant_name(raw_name), created_at=now)
