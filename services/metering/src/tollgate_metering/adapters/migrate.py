"""Bringing a database created by an older metering up to the current tables.

`create_all` creates missing tables but never alters existing ones, so each column added after a release is
listed here and added when absent. Idempotent, and safe when replicas start together.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

# (table, column, SQL type and default): columns newer than their table.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (("usage_ledger", "unknown_grant", "BOOLEAN NOT NULL DEFAULT FALSE"),)


async def add_missing_columns(conn: AsyncConnection, schema: str | None) -> None:
    """Add every column of ADDED_COLUMNS its table lacks (the tables themselves must exist)."""
    for table, column, definition in ADDED_COLUMNS:

        def columns(sync: Connection, table: str = table) -> set[str]:
            return {c["name"] for c in inspect(sync).get_columns(table, schema=schema)}

        if column in await conn.run_sync(columns):
            continue
        if schema:
            # PostgreSQL: IF NOT EXISTS settles a race with a replica migrating at the same moment.
            await conn.execute(text(f'ALTER TABLE "{schema}"."{table}" ADD COLUMN IF NOT EXISTS {column} {definition}'))
            continue
        try:
            await conn.execute(text(f'ALTER TABLE "{table}" ADD COLUMN {column} {definition}'))
        except sa_exc.OperationalError as exc:
            # SQLite has no IF NOT EXISTS here: another process added it between our look and our ALTER.
            if "duplicate column" not in str(exc).lower():
                raise
