"""Device requests (RFC 8628) in the pending-requests table: found by user code or device code, polled, and
their device code exchanged once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, update
from sqlmodel import col, select

from tollgate_auth.adapters.oauth_store import StoredRequest, request_of
from tollgate_auth.adapters.oauth_tables import PendingRequestRow
from tollgate_servicekit.sql import Database


@dataclass(frozen=True)
class DevicePoll:
    """A device's poll: its request as stored, and whether it came before its interval was over."""

    request: StoredRequest
    user_code: str
    too_soon: bool
    used: bool


class SqlDeviceStore:
    def __init__(self, database: Database) -> None:
        self._session = database.session

    async def by_user_code(self, user_code: str) -> StoredRequest | None:
        async with self._session() as s:
            row = (await s.exec(select(PendingRequestRow).where(col(PendingRequestRow.user_code) == user_code))).first()
        return None if row is None else request_of(row)

    async def poll(self, device_code_hash: str, now: datetime, step_seconds: int) -> DevicePoll | None:
        """Record a poll; a poll before the interval is over widens the interval by `step_seconds` (for good)."""
        async with self._session() as s:
            query = select(PendingRequestRow).where(col(PendingRequestRow.device_code_hash) == device_code_hash)
            row = (await s.exec(query)).first()
            if row is None:
                return None
            interval = row.interval_seconds or 5
            last = row.last_polled_at
            early = last is not None and now < last + timedelta(seconds=interval)
            values: dict[str, object] = {"last_polled_at": now}
            if early:
                values["interval_seconds"] = interval + step_seconds
            await s.exec(update(PendingRequestRow).where(col(PendingRequestRow.id) == row.id).values(**values))
            await s.commit()
            return DevicePoll(request_of(row), row.user_code or "", early, row.used_at is not None)

    async def use(self, request_id: str, now: datetime) -> bool:
        """Exchange the device code once: True for the first caller only."""
        async with self._session() as s:
            result = await s.exec(
                update(PendingRequestRow)
                .where(col(PendingRequestRow.id) == request_id, col(PendingRequestRow.used_at).is_(None))
                .values(used_at=now)
            )
            won = isinstance(result, CursorResult) and result.rowcount == 1
            await s.commit()
        return won
