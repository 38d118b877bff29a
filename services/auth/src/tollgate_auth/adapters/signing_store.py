"""The signing-key half of the SQL store that changes keys: a compare-and-set on the key's version.

Rotation on several replicas at once must converge: each change (`activate`, `retire`, `finalize`) is applied
only to the version it was computed from, and recomputed from the stored key when another writer got there
first. The private key is never rewritten here: only status, times and version change.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import CursorResult, update
from sqlmodel import col

from tollgate_auth.adapters.rows import signing_key_of
from tollgate_auth.adapters.tables import SigningKeyRow
from tollgate_auth.domain import SigningKey
from tollgate_auth.domain.errors import Conflict
from tollgate_auth.domain.signing_keys import SigningKeyNotFound
from tollgate_servicekit.keyring import Keyring
from tollgate_servicekit.redaction import clip
from tollgate_servicekit.sql import Database

UPDATE_ATTEMPTS = 20


async def update_signing_key(
    database: Database, keyring: Keyring, kid: str, change: Callable[[SigningKey], SigningKey | None]
) -> tuple[SigningKey, bool]:
    """Apply `change` to the stored key `kid` (it may run more than once); the key as stored, and whether it
    changed. Raises `SigningKeyNotFound`."""
    for _ in range(UPDATE_ATTEMPTS):
        async with database.session() as s:
            row = await s.get(SigningKeyRow, kid)
            if row is None:
                raise SigningKeyNotFound(f"no signing key {clip(kid)!r}")
            current = signing_key_of(row, keyring)
            following = change(current)
            if following is None:
                return current, False
            statement = (
                update(SigningKeyRow)
                .where(col(SigningKeyRow.kid) == kid, col(SigningKeyRow.version) == current.version)
                .values(
                    status=following.status.value,
                    updated_at=following.updated_at,
                    not_after=following.not_after,
                    version=following.version,
                )
            )
            result = await s.exec(statement)
            if isinstance(result, CursorResult) and result.rowcount == 1:
                await s.commit()
                return following, True
            await s.rollback()
    raise Conflict(f"signing key {clip(kid)} is being changed by others; try again")
