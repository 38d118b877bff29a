"""Device requests (RFC 8628) as the owner's admin API and CLI see them: the undecided ones, and one found by
its id or its user code.

Read-only on the pending-requests table (`PendingRequestRow`); deciding goes through `SqlOAuthStore`'s
conditional `decide_request`, the same single-decision rule the consent page uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select

from tollgate_auth.adapters.oauth_store import PENDING, StoredRequest, request_of
from tollgate_auth.adapters.oauth_tables import PendingRequestRow
from tollgate_servicekit.sql import Database

LIST_LIMIT = 500
"""Requests live ten minutes: more than this many undecided at once is an abuse, not a to-do list."""


@dataclass(frozen=True)
class DeviceRequest:
    """A stored device request and the user code the owner sees on the device."""

    request: StoredRequest
    user_code: str


class SqlPendingDeviceRequests:
    def __init__(self, database: Database) -> None:
        self._session = database.session

    async def undecided(self, now: datetime) -> list[DeviceRequest]:
        """Pending device requests not yet expired, oldest first."""
        query = (
            select(PendingRequestRow)
            .where(
                col(PendingRequestRow.user_code).is_not(None),
                col(PendingRequestRow.status) == PENDING,
                col(PendingRequestRow.expires_at) > now,
            )
            .order_by(col(PendingRequestRow.created_at), col(PendingRequestRow.id))
            .limit(LIST_LIMIT)
        )
        async with self._session() as s:
            rows = (await s.exec(query)).all()
        return [DeviceRequest(request_of(row), row.user_code or "") for row in rows]

    async def reopen(self, request_id: str) -> None:
        """Back to pending: an approval whose grant could not be created (no grant was recorded)."""
        async with self._session() as s:
            await s.exec(
                update(PendingRequestRow)
                .where(
                    col(PendingRequestRow.id) == request_id,
                    col(PendingRequestRow.status) == "approved",
                    col(PendingRequestRow.grant_id).is_(None),
                )
                .values(status=PENDING, decided_at=None)
            )
            await s.commit()

    async def find(self, request_id: str | None, user_code: str | None) -> DeviceRequest | None:
        """The device request with this id or this (normalised) user code; None if there is none."""
        conditions = []
        if request_id is not None:
            conditions.append(col(PendingRequestRow.id) == request_id)
        if user_code is not None:
            conditions.append(col(PendingRequestRow.user_code) == user_code)
        if not conditions:
            return None
        async with self._session() as s:
            for condition in conditions:
                row = (await s.exec(select(PendingRequestRow).where(condition))).first()
                if row is not None and row.user_code is not None:
                    return DeviceRequest(request_of(row), row.user_code)
        return None
