"""Metering's schema migrations (Alembic): `versions/` holds one script per revision, `0001_baseline` being the
tables metering's `create_all` made before migrations existed. See README.md here.

`adapters.db.prepare(database)` calls `upgrade(database)` at every start; servicekit's runner
(`tollgate_servicekit.migrations`) makes it safe from replicas starting together and stamps a database made before
migrations.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from tollgate_servicekit import migrations
from tollgate_servicekit.sql import Database

SCRIPT_LOCATION = "tollgate_metering:migrations"
BASELINE = "0001"
"""The revision of a database created by `create_all` before migrations (the tables as of commit 3c50da0, before
the ledger's `unknown_grant` column)."""


def metadata() -> MetaData:
    """Metering's registry with its tables (usage_ledger, grant_account, price)."""
    from tollgate_metering.adapters.tables import MeteringModel

    return MeteringModel.metadata


async def upgrade(database: Database) -> None:
    """Bring metering's tables in `database` to the newest revision (creating them on an empty database)."""
    await migrations.upgrade(database, SCRIPT_LOCATION, metadata(), baseline=BASELINE)
