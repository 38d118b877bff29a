"""The SQL store's owner accounts and browser sessions (`UserStore` and `SessionStore`), mixed into `SqlStore`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tollgate_auth.adapters.tables import UserRow, WebSessionRow
from tollgate_auth.domain.users import Role, User, UserExists, WebSession
from tollgate_servicekit.redaction import clip


def _user_of(row: UserRow) -> User:
    return User(row.id, row.tenant_id, row.email, Role(row.role), row.password_hash, row.created_at, row.updated_at)


def _session_of(row: WebSessionRow) -> WebSession:
    return WebSession(row.id_hash, row.user_id, row.created_at, row.last_seen_at)


class AccountTables:
    """Users and web sessions on the store's database; `_session` is the database's session factory."""

    _session: Callable[[], AbstractAsyncContextManager[AsyncSession]]

    async def add_user(self, user: User) -> None:
        row = UserRow(
            id=user.id,
            tenant_id=user.tenant_id,
            email=user.email,
            role=user.role.value,
            password_hash=user.password_hash,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )
        async with self._session() as s:
            s.add(row)
            try:
                await s.commit()
            except IntegrityError:
                raise UserExists(f"a user with the email {clip(user.email)!r} already exists") from None

    async def get_user(self, user_id: str) -> User | None:
        async with self._session() as s:
            row = await s.get(UserRow, user_id)
            return None if row is None else _user_of(row)

    async def user_by_email(self, email: str) -> User | None:
        async with self._session() as s:
            row = (await s.exec(select(UserRow).where(UserRow.email == email))).first()
            return None if row is None else _user_of(row)

    async def list_users(self, tenant_id: str | None = None) -> list[User]:
        query = select(UserRow).order_by(col(UserRow.created_at), col(UserRow.id))
        if tenant_id is not None:
            query = query.where(UserRow.tenant_id == tenant_id)
        async with self._session() as s:
            return [_user_of(r) for r in await s.exec(query)]

    async def set_password_hash(self, user_id: str, password_hash: str, now: datetime) -> None:
        async with self._session() as s:
            statement = update(UserRow).where(col(UserRow.id) == user_id)
            await s.exec(statement.values(password_hash=password_hash, updated_at=now))
            await s.commit()

    async def add_web_session(self, session: WebSession) -> None:
        async with self._session() as s:
            s.add(WebSessionRow(**vars(session)))
            await s.commit()

    async def get_web_session(self, id_hash: str) -> WebSession | None:
        async with self._session() as s:
            row = await s.get(WebSessionRow, id_hash)
            return None if row is None else _session_of(row)

    async def touch_web_session(self, id_hash: str, now: datetime) -> None:
        async with self._session() as s:
            statement = update(WebSessionRow).where(col(WebSessionRow.id_hash) == id_hash)
            await s.exec(statement.values(last_seen_at=now))
            await s.commit()

    async def delete_web_session(self, id_hash: str) -> None:
        async with self._session() as s:
            await s.exec(delete(WebSessionRow).where(col(WebSessionRow.id_hash) == id_hash))
            await s.commit()

    async def delete_web_sessions_before(self, created_before: datetime, seen_before: datetime) -> int:
        """Forget sessions past their absolute or idle limit; returns how many went."""
        async with self._session() as s:
            statement = delete(WebSessionRow).where(
                (col(WebSessionRow.created_at) < created_before) | (col(WebSessionRow.last_seen_at) < seen_before)
            )
            result = await s.exec(statement)
            await s.commit()
            return int(getattr(result, "rowcount", 0) or 0)
