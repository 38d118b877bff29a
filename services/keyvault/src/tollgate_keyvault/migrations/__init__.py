"""Keyvault's schema migrations (Alembic): `versions/` holds one script per revision, `0001_baseline` being the
credentials table as keyvault's `create_all` made it before migrations existed. See README.md here.

`SqlCredentialStore.migrate()` calls `upgrade(database)` at every start; servicekit's runner
(`tollgate_servicekit.migrations`) makes it safe from replicas starting together and stamps a database made before
migrations.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from tollgate_servicekit import migrations
from tollgate_servicekit.sql import Database

SCRIPT_LOCATION = "tollgate_keyvault:migrations"
BASELINE = "0001"
"""The revision of a database created by `create_all` before migrations (the table as of commit 3c50da0)."""


def metadata() -> MetaData:
    """Keyvault's registry, with its one table (`credentials`)."""
    from tollgate_keyvault.adapters.db import METADATA

    return METADATA


async def upgrade(database: Database) -> None:
    """Bring keyvault's tables in `database` to the newest revision (creating them on an empty database)."""
    await migrations.upgrade(database, SCRIPT_LOCATION, metadata(), baseline=BASELINE)
