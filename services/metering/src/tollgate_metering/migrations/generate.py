"""Write a metering migration with Alembic's autogenerate: `make metering-migration` (see README.md here).

    python -m tollgate_metering.migrations.generate --rev-id 0002 --message "unknown grant flag" --replace

A temporary SQLite database is upgraded to the newest script (after `--replace` removed `rev_id`'s own script, so
an unreleased revision can be made again), and the models' difference from it becomes `versions/<rev_id>_<slug>.py`.
`--url`/`--schema` use another database instead (e.g. PostgreSQL). Review what it writes: autogenerate does not see
renames (a drop and an add) nor changes of server defaults.
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
