"""Auth's schema migrations (Alembic): `versions/` holds one script per revision, `0001_baseline` being the tables
auth had before migrations existed. See README.md here for how a revision is made.

`SqlStore.create()` calls `upgrade(database)` at every start; servicekit's runner (`tollgate_servicekit.migrations`)
makes it safe from replicas starting together and stamps a database made before migrations.
"""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData

from tollgate_servicekit import migrations
from tollgate_servicekit.sql import Database

SCRIPT_LOCATION = "tollgate_auth:migrations"
BASELINE = "0001"
"""The revision of a database created by `create_all` before migrations (the tables as of commit f408565)."""


def metadata() -> MetaData:
    """Auth's registry with every table in it: each `tollgate_auth.adapters.*tables` module is imported."""
    from tollgate_auth import adapters
    from tollgate_auth.adapters.tables import AuthTable

    for module in pkgutil.iter_modules(adapters.__path__):
        if module.name.endswith("tables"):
            importlib.import_module(f"{adapters.__name__}.{module.name}")
    return AuthTable.metadata


async def upgrade(database: Database) -> None:
    """Bring auth's tables in `database` to the newest revision (creating them on an empty database)."""
    await migrations.upgrade(database, SCRIPT_LOCATION, metadata(), baseline=BASELINE)
