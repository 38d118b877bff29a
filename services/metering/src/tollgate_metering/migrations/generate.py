"""Write a metering migration with Alembic's autogenerate: `make metering-migration` (see README.md here).

    python -m tollgate_metering.migrations.generate --rev-id 0002 --message "unknown grant flag" --replace

The command line is servicekit's (`tollgate_servicekit.migrations.main`): review what it writes.
"""

from __future__ import annotations

from tollgate_metering.migrations import BASELINE, SCRIPT_LOCATION, metadata
from tollgate_servicekit.migrations import main

if __name__ == "__main__":
    raise SystemExit(
        main(
            SCRIPT_LOCATION,
            metadata(),
            baseline=BASELINE,
            prog="python -m tollgate_metering.migrations.generate",
            description=__doc__,
        )
    )
