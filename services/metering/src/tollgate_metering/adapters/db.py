"""The SQL store: the usage ledger, per-grant accounts and price versions, on SQLite or PostgreSQL.

Counting exactly once: the ledger insert (`ON CONFLICT (request_id) DO NOTHING RETURNING request_id`) and
the totals update (`SET x = x + :v`, summed over the rows that were new) run in one transaction, so a record
adds to its grant's totals if and only if its ledger row is new — whichever replica, whichever delivery,
however many restarts. A fetched batch is one transaction.

The engine, PostgreSQL schema mapping, SQLite WAL and busy timeout are `tollgate_servicekit.sql.Database`'s; the
tables are made and changed by Alembic migrations only (`tollgate_metering.migrations`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tollgate_metering import migrations
from tollgate_metering.adapters.tables import AccountRow, MeteringModel, PriceRow, UsageRow
from tollgate_metering.domain.budget import Account, Limits
from tollgate_metering.domain.errors import InvalidUsage
from tollgate_metering.domain.pricing import PriceRule
from tollgate_metering.domain.usage import LedgerEntry, Totals
from tollgate_metering.ports import Recorded, UnknownGrants, VersionedPrice
from tollgate_servicekit import sql
from tollgate_servicekit.sql import Database

logger = logging.getLogger(__name__)

LEDGER: Table = MeteringModel.metadata.tables[UsageRow.__tablename__]
ACCOUNTS: Table = MeteringModel.metadata.tables[AccountRow.__tablename__]
PRICES: Table = MeteringModel.metadata.tables[PriceRow.__tablename__]


async def prepare(database: Database) -> None:
    """Bring metering's schema (PostgreSQL) and tables to the newest migration (`tollgate_metering.migrations`): made
    on an empty database, stamped and upgraded on one made by `create_all` before migrations. Safe from every replica
    at once."""
    await migrations.upgrade(database)


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Data the database refuses becomes InvalidUsage (poison: retrying cannot help); driver, pool and connection
    failures become StoreUnavailable (servicekit's translation: transient, the caller retries)."""
    try:
        async with sql.translate_errors():
            yield
    except (sa_exc.DataError, OverflowError) as exc:
        raise InvalidUsage(f"the database refused the data: {type(exc).__name__}") from exc
    except sa_exc.DBAPIError as exc:
        sqlstate = getattr(exc.orig, "sqlstate", None)
        # asyncpg errors reach us as a generic DBAPIError: SQLSTATE class 22 ("data exception": a NUL in a
        # string, a number out of range) is what says the data, not the database, is at fault.
        if isinstance(sqlstate, str) and sqlstate.startswith("22"):
            raise InvalidUsage(f"the database refused the data (SQLSTATE {sqlstate})") from exc
        # Neither transient (servicekit let it through) nor the data's fault: a bug, for the caller to log.
        raise


class SqlStore:
    """The `Store` port on a `Database`."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._dialect = postgresql if database.is_postgres else sqlite

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with translate_errors(), self.database.engine.begin() as conn:
            yield conn

    async def record(self, entry: LedgerEntry) -> bool:
        return (await self.record_many([entry])).counted[0]

    async def record_many(self, entries: Sequence[LedgerEntry]) -> Recorded:
        firsts = {entry.request_id: entry for entry in reversed(entries)}  # the first of each request id
        if not firsts:
            return Recorded(counted=[], unknown=[])
        # Sorted keys give every replica the same lock order (ledger rows, then accounts): no deadlock cycles.
        # One cached statement, executed for many rows (SQLAlchemy batches it into multi-row INSERTs).
        insert_entries = (
            self._dialect.insert(LEDGER)
            .on_conflict_do_nothing(index_elements=["request_id"])
            .returning(LEDGER.c.request_id)
        )
        rows = [_ledger_values(firsts[request_id]) for request_id in sorted(firsts)]
        async with self._transaction() as conn:
            new = set((await conn.execute(insert_entries, rows)).scalars())
            # Flagged after the insert, not looked up before it: on SQLite a transaction that reads first and
            # writes second can fail at once (SQLITE_BUSY) against a concurrent writer instead of waiting.
            unknown = await self._flag_unknown_grants(conn, sorted(new), firsts)
            totals: dict[str, tuple[str, Totals]] = {}
            for request_id in new:
                entry = firsts[request_id]
                tenant_id, sums = totals.get(entry.grant_id, (entry.tenant_id, Totals()))
                totals[entry.grant_id] = (tenant_id, sums.add(entry))
            for grant_id in sorted(totals):
                await conn.execute(self._add_totals(grant_id, *totals[grant_id]))
        counted = set()
        results = []
        for entry in entries:
            results.append(entry.request_id in new and entry.request_id not in counted)
            counted.add(entry.request_id)
        return Recorded(counted=results, unknown=[firsts[request_id] for request_id in unknown])

    @staticmethod
    async def _flag_unknown_grants(conn: AsyncConnection, new: list[str], firsts: dict[str, LedgerEntry]) -> list[str]:
        """Mark the new rows whose grant has no applied GrantState (`grant_version > 0`); their request ids."""
        grants = sorted({firsts[request_id].grant_id for request_id in new})
        if not grants:
            return []
        known_query = select(ACCOUNTS.c.grant_id).where(ACCOUNTS.c.grant_id.in_(grants), ACCOUNTS.c.grant_version > 0)
        known = set((await conn.execute(known_query)).scalars())
        unknown = [request_id for request_id in new if firsts[request_id].grant_id not in known]
        if unknown:
            flag = update(LEDGER).where(LEDGER.c.request_id.in_(unknown)).values(unknown_grant=True)
            await conn.execute(flag)
        return unknown

    def _add_totals(self, grant_id: str, tenant_id: str, add: Totals) -> Any:
        upsert = self._dialect.insert(ACCOUNTS).values(
            grant_id=grant_id,
            tenant_id=tenant_id,
            requests=add.requests,
            input_tokens=add.input_tokens,
            output_tokens=add.output_tokens,
            cost_micro_usd=add.cost_micro_usd,
            version=1,
        )
        return upsert.on_conflict_do_update(
            index_elements=["grant_id"],
            set_={
                "requests": ACCOUNTS.c.requests + add.requests,
                "input_tokens": ACCOUNTS.c.input_tokens + add.input_tokens,
                "output_tokens": ACCOUNTS.c.output_tokens + add.output_tokens,
                "cost_micro_usd": ACCOUNTS.c.cost_micro_usd + add.cost_micro_usd,
                "version": ACCOUNTS.c.version + 1,
            },
        )

    async def apply_limits(self, grant_id: str, tenant_id: str, limits: Limits, grant_version: int) -> bool:
        upsert = self._dialect.insert(ACCOUNTS).values(
            grant_id=grant_id,
            tenant_id=tenant_id,
            budget_micro_usd=limits.budget_micro_usd,
            max_requests=limits.max_requests,
            grant_version=grant_version,
            version=1,
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=["grant_id"],
            set_={
                "tenant_id": upsert.excluded.tenant_id,
                "budget_micro_usd": upsert.excluded.budget_micro_usd,
                "max_requests": upsert.excluded.max_requests,
                "grant_version": upsert.excluded.grant_version,
                "version": ACCOUNTS.c.version + 1,
            },
            where=ACCOUNTS.c.grant_version < upsert.excluded.grant_version,
        ).returning(ACCOUNTS.c.grant_id)
        async with self._transaction() as conn:
            return (await conn.execute(upsert)).first() is not None

    async def account(self, grant_id: str) -> Account | None:
        return (await self.accounts([grant_id])).get(grant_id)

    async def accounts(self, grant_ids: Sequence[str]) -> dict[str, Account]:
        query = select(ACCOUNTS).where(ACCOUNTS.c.grant_id.in_(list(grant_ids)))
        async with translate_errors(), self.database.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {
            row.grant_id: Account(
                grant_id=row.grant_id,
                limits=Limits(budget_micro_usd=row.budget_micro_usd, max_requests=row.max_requests),
                totals=Totals(
                    requests=row.requests,
                    input_tokens=row.input_tokens,
                    output_tokens=row.output_tokens,
                    cost_micro_usd=row.cost_micro_usd,
                ),
                version=row.version,
                grant_version=row.grant_version,
            )
            for row in rows
        }

    async def unknown_grants(self, limit: int) -> UnknownGrants:
        # Accounts only (one row per grant), never a scan of the ledger. grant_version 0 = no GrantState applied.
        unknown = ACCOUNTS.c.grant_version == 0
        summary = select(
            func.count(),
            func.coalesce(func.sum(ACCOUNTS.c.requests), 0),
            func.coalesce(func.sum(ACCOUNTS.c.cost_micro_usd), 0),
        ).where(unknown)
        first = select(ACCOUNTS.c.grant_id).where(unknown).order_by(ACCOUNTS.c.grant_id).limit(limit)
        async with translate_errors(), self.database.engine.connect() as conn:
            grants, requests, cost = (await conn.execute(summary)).one()
            grant_ids = list((await conn.execute(first)).scalars())
        return UnknownGrants(grants=grants, requests=int(requests), cost_micro_usd=int(cost), grant_ids=grant_ids)

    async def sync_prices(self, rules: Sequence[PriceRule]) -> list[VersionedPrice]:
        versions: dict[tuple[str, str], int] = {}
        async with self._transaction() as conn:
            for rule in rules:
                upsert = self._dialect.insert(PRICES).values(
                    provider=rule.provider,
                    model=rule.model,
                    input_micro_usd_per_mtok=rule.price.input_micro_usd_per_mtok,
                    output_micro_usd_per_mtok=rule.price.output_micro_usd_per_mtok,
                    version=1,
                )
                upsert = upsert.on_conflict_do_update(
                    index_elements=["provider", "model"],
                    set_={
                        "input_micro_usd_per_mtok": upsert.excluded.input_micro_usd_per_mtok,
                        "output_micro_usd_per_mtok": upsert.excluded.output_micro_usd_per_mtok,
                        "version": PRICES.c.version + 1,
                    },
                    where=(PRICES.c.input_micro_usd_per_mtok != upsert.excluded.input_micro_usd_per_mtok)
                    | (PRICES.c.output_micro_usd_per_mtok != upsert.excluded.output_micro_usd_per_mtok),
                )
                await conn.execute(upsert)
            for row in await conn.execute(select(PRICES.c.provider, PRICES.c.model, PRICES.c.version)):
                versions[(row.provider, row.model)] = row.version
        return [VersionedPrice(rule, versions[(rule.provider, rule.model)]) for rule in rules]


def _ledger_values(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "request_id": entry.request_id,
        "event_id": entry.event_id,
        "grant_id": entry.grant_id,
        "tenant_id": entry.tenant_id,
        "provider": entry.provider,
        "model": entry.model,
        "capability": entry.capability,
        "input_tokens": entry.input_tokens,
        "output_tokens": entry.output_tokens,
        "cost_micro_usd": entry.cost_micro_usd,
        "estimated": entry.estimated,
        "streamed": entry.streamed,
        "status_code": entry.status_code,
        "started_at": entry.started_at,
        "duration_ms": entry.duration_ms,
        "recorded_at": entry.recorded_at,
    }
