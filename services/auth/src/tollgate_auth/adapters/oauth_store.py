"""The OAuth store: clients, one-use authorization codes, pushed and pending authorization requests.

On servicekit's `Database`, beside `SqlStore` (same engine, same schema). Single use is enforced by the database:
a code or a pushed request is taken by an `UPDATE … WHERE used_at IS NULL` (or a `DELETE`) whose row count says
whether this caller won, so two concurrent exchanges of one code cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, update
from sqlmodel import col, select

from tollgate_auth.adapters.oauth_tables import (
    AuthorizationCodeRow,
    OAuthClientRow,
    PendingRequestRow,
    PushedRequestRow,
    RefreshTokenRow,
    RevokedAccessTokenRow,
)
from tollgate_auth.oauth.models import AuthorizationCode, Client, RefreshToken, Taken
from tollgate_servicekit.sql import Database

PENDING = "pending"
KEEP_USED_CODES_SECONDS = 86_400


@dataclass(frozen=True)
class StoredRequest:
    """An authorization request as kept while the owner decides."""

    id: str
    client_id: str
    params: dict[str, str]
    owner_id: str | None
    tenant_id: str | None
    status: str
    grant_id: str | None
    created_at: datetime
    expires_at: datetime


def request_of(row: PendingRequestRow) -> StoredRequest:
    fields = row.model_dump(include=set(StoredRequest.__dataclass_fields__))
    return StoredRequest(**{**fields, "params": dict(row.params)})


class SqlOAuthStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._session = database.session

    # -- clients -------------------------------------------------------------------------------------------------

    async def add_client(self, client: Client) -> None:
        async with self._session() as s:
            s.add(
                OAuthClientRow(
                    client_id=client.client_id,
                    secret_hash=client.secret_hash,
                    client_name=client.client_name,
                    client_metadata=dict(client.metadata),
                    created_at=client.created_at,
                )
            )
            await s.commit()

    async def get_client(self, client_id: str) -> Client | None:
        async with self._session() as s:
            row = await s.get(OAuthClientRow, client_id)
        if row is None:
            return None
        return Client(row.client_id, row.client_name, dict(row.client_metadata), row.secret_hash, row.created_at)

    # -- authorization codes -------------------------------------------------------------------------------------

    async def add_code(self, code: AuthorizationCode) -> None:
        async with self._session() as s:
            s.add(AuthorizationCodeRow(**code.__dict__))
            # Forgetting old codes here keeps the table small without a background task; a used code is kept a
            # day past its expiry, so a replay still revokes what it gave.
            cutoff = code.created_at - timedelta(seconds=KEEP_USED_CODES_SECONDS)
            await s.exec(delete(AuthorizationCodeRow).where(col(AuthorizationCodeRow.expires_at) < cutoff))
            await s.commit()

    async def take_code(self, code_hash: str, client_id: str, now: datetime) -> AuthorizationCode | None:
        """The code, marked used, if it exists for `client_id`, is unused and unexpired; else None (for good)."""
        async with self._session() as s:
            result = await s.exec(
                update(AuthorizationCodeRow)
                .where(
                    col(AuthorizationCodeRow.code_hash) == code_hash,
                    col(AuthorizationCodeRow.client_id) == client_id,
                    col(AuthorizationCodeRow.used_at).is_(None),
                    col(AuthorizationCodeRow.expires_at) > now,
                )
                .values(used_at=now)
            )
            if not (isinstance(result, CursorResult) and result.rowcount == 1):
                await s.rollback()
                return None
            await s.commit()
            row = await s.get(AuthorizationCodeRow, code_hash)
        assert row is not None
        fields = row.model_dump(exclude={"used_at", "access_jti", "access_expires_at", "family_id"})
        return AuthorizationCode(**fields)

    async def replayed_code(self, code_hash: str, client_id: str) -> AuthorizationCodeRow | None:
        """The code's row if it was already exchanged by this client (a replay), else None."""
        async with self._session() as s:
            row = await s.get(AuthorizationCodeRow, code_hash)
        if row is None or row.client_id != client_id or row.used_at is None:
            return None
        return row

    async def record_code_tokens(
        self, code_hash: str, access_jti: str, access_expires_at: datetime, family_id: str | None
    ) -> None:
        """What a code's exchange issued (for revoking it should the code be replayed)."""
        async with self._session() as s:
            await s.exec(
                update(AuthorizationCodeRow)
                .where(col(AuthorizationCodeRow.code_hash) == code_hash)
                .values(access_jti=access_jti, access_expires_at=access_expires_at, family_id=family_id)
            )
            await s.commit()

    # -- pushed authorization requests (RFC 9126) ----------------------------------------------------------------

    async def add_pushed(
        self, request_id: str, client_id: str, params: dict[str, str], now: datetime, expires_at: datetime
    ) -> None:
        async with self._session() as s:
            s.add(
                PushedRequestRow(
                    id=request_id, client_id=client_id, params=params, created_at=now, expires_at=expires_at
                )
            )
            # Pushed requests never used are forgotten once dead (each is a minute long).
            await s.exec(delete(PushedRequestRow).where(col(PushedRequestRow.expires_at) < now))
            await s.commit()

    async def take_pushed(self, request_id: str, client_id: str, now: datetime) -> dict[str, str] | None:
        """The pushed parameters, once (RFC 9126 §4: a `request_uri` is used once), if unexpired and the client's."""
        async with self._session() as s:
            row = await s.get(PushedRequestRow, request_id)
            if row is None:
                return None
            params, owner, expires = dict(row.params), row.client_id, row.expires_at
            result = await s.exec(delete(PushedRequestRow).where(col(PushedRequestRow.id) == request_id))
            await s.commit()
        won = isinstance(result, CursorResult) and result.rowcount == 1
        return params if won and owner == client_id and expires > now else None

    # -- pending requests ----------------------------------------------------------------------------------------

    async def add_request(self, request: StoredRequest) -> None:
        async with self._session() as s:
            s.add(PendingRequestRow(**request.__dict__, decided_at=None))
            await s.commit()

    async def add_device_request(
        self, request: StoredRequest, user_code: str, device_code_hash: str, interval_seconds: int
    ) -> None:
        async with self._session() as s:
            s.add(
                PendingRequestRow(
                    **request.__dict__,
                    decided_at=None,
                    user_code=user_code,
                    device_code_hash=device_code_hash,
                    interval_seconds=interval_seconds,
                )
            )
            await s.commit()

    async def get_request(self, request_id: str) -> StoredRequest | None:
        async with self._session() as s:
            row = await s.get(PendingRequestRow, request_id)
        return None if row is None else request_of(row)

    async def decide_request(self, request_id: str, status: str, grant_id: str | None, now: datetime) -> bool:
        """Record the decision if the request is still pending; False when someone else decided first."""
        async with self._session() as s:
            result = await s.exec(
                update(PendingRequestRow)
                .where(col(PendingRequestRow.id) == request_id, col(PendingRequestRow.status) == PENDING)
                .values(status=status, grant_id=grant_id, decided_at=now)
            )
            won = isinstance(result, CursorResult) and result.rowcount == 1
            await s.commit()
        return won

    async def standing_grant(self, client_id: str) -> str | None:
        """The grant the owner last approved for this client (client credentials use it), if any."""
        query = (
            select(PendingRequestRow.grant_id)
            .where(
                col(PendingRequestRow.client_id) == client_id,
                col(PendingRequestRow.status) == "approved",
                col(PendingRequestRow.grant_id).is_not(None),
            )
            .order_by(col(PendingRequestRow.decided_at).desc())
        )
        async with self._session() as s:
            return (await s.exec(query)).first()

    async def set_request_grant(self, request_id: str, grant_id: str) -> None:
        """The grant an approved request created."""
        async with self._session() as s:
            await s.exec(
                update(PendingRequestRow).where(col(PendingRequestRow.id) == request_id).values(grant_id=grant_id)
            )
            await s.commit()

    # -- refresh tokens ------------------------------------------------------------------------------------------

    async def add_refresh(self, token: RefreshToken) -> bool:
        """Store a rotated token; False (stored revoked) if a replay revoked its family since the rotation began."""
        async with self._session() as s:
            s.add(RefreshTokenRow(**token.__dict__))
            await s.commit()  # committed first, so a revocation from now on sees this row too
            family = (col(RefreshTokenRow.family_id) == token.family_id, col(RefreshTokenRow.revoked_at).is_not(None))
            if (await s.exec(select(RefreshTokenRow.token_hash).where(*family).limit(1))).first() is None:
                return True
        await self.revoke_family(token.family_id, token.created_at)
        return False

    async def take_refresh(self, token_hash: str, now: datetime) -> Taken:
        """Rotate: the token, marked used, on its first use while live; on a later use, the family it betrays."""
        async with self._session() as s:
            result = await s.exec(
                update(RefreshTokenRow)
                .where(
                    col(RefreshTokenRow.token_hash) == token_hash,
                    col(RefreshTokenRow.used_at).is_(None),
                    col(RefreshTokenRow.revoked_at).is_(None),
                    col(RefreshTokenRow.expires_at) > now,
                )
                .values(used_at=now)
            )
            won = isinstance(result, CursorResult) and result.rowcount == 1
            await s.commit()
            row = await s.get(RefreshTokenRow, token_hash)
        if row is None:
            return Taken(None)
        if won:
            return Taken(RefreshToken(**row.model_dump(exclude={"used_at", "revoked_at"})))
        # Used (or revoked with its family) before: someone replays it. An expired, unused one is just expired.
        betrayed = row.used_at is not None or row.revoked_at is not None
        return Taken(None, row.family_id if betrayed else None)

    async def revoke_family(self, family_id: str, now: datetime) -> list[RefreshToken]:
        """Revoke every token of the family; returns them all (their access tokens still live are the caller's)."""
        async with self._session() as s:
            await s.exec(
                update(RefreshTokenRow)
                .where(col(RefreshTokenRow.family_id) == family_id, col(RefreshTokenRow.revoked_at).is_(None))
                .values(revoked_at=now)
            )
            await s.commit()
            rows = await s.exec(select(RefreshTokenRow).where(col(RefreshTokenRow.family_id) == family_id))
            return [RefreshToken(**r.model_dump(exclude={"used_at", "revoked_at"})) for r in rows]

    async def refresh_status(self, token_hash: str, now: datetime) -> tuple[RefreshToken, bool] | None:
        """A refresh token and whether it is still usable (unused, unrevoked, unexpired); None if unknown."""
        async with self._session() as s:
            row = await s.get(RefreshTokenRow, token_hash)
        if row is None:
            return None
        usable = row.used_at is None and row.revoked_at is None and row.expires_at > now
        return RefreshToken(**row.model_dump(exclude={"used_at", "revoked_at"})), usable

    # -- revoked access tokens -----------------------------------------------------------------------------------

    async def revoke_access(self, jti: str, grant_id: str, expires_at: datetime, now: datetime) -> None:
        async with self._session() as s:
            if await s.get(RevokedAccessTokenRow, jti) is None:
                s.add(RevokedAccessTokenRow(jti=jti, grant_id=grant_id, expires_at=expires_at, revoked_at=now))
                await s.commit()

    async def is_access_revoked(self, jti: str) -> bool:
        """Revoked by itself, or with its refresh-token family."""
        async with self._session() as s:
            if await s.get(RevokedAccessTokenRow, jti) is not None:
                return True
            family = await s.exec(
                select(RefreshTokenRow.token_hash).where(
                    col(RefreshTokenRow.access_jti) == jti, col(RefreshTokenRow.revoked_at).is_not(None)
                )
            )
            return family.first() is not None
