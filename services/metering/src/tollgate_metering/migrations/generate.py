"""Write a metering migration with Alembic's autogenerate: `make metering-migration` (see README.md here).

    python -m tollgate_metering.migrations.generate --rev-id 0002 --message "unknown grant flag" --replace

A temporary SQLite database is upgraded to the newest script (after `--replace` removed `rev_id`'s own script, so
an unreleased revision can be made again), and the models' difference from it becomes `versions/<rev_id>_<slug>.py`.
`--url`/`--schema` use another database instead (e.g. PostgreSQL). Review what it writes: autogenerate does not see
renames (a drop and an add) nor changes of server defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from tollgate_metering.migrations import BASELINE, SCRIPT_LOCATION, metadata
from tollgate_servicekit import migrations
from tollgate_servicekit.sql import Database

VERSIONS = Path(__file__).parent / "versions"


async def _generate(url: str, schema: str | None, message: str, rev_id: str) -> list[Path]:
    database = Database(url, schema)
    try:
        return await migrations.generate(
            database, SCRIPT_LOCATION, metadata(), baseline=BASELINE, message=message, rev_id=rev_id
        )
    finally:
        await database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tollgate_metering.migrations.generate", description=__doc__)
    parser.add_argument("--rev-id", required=True, help="the new revision's id, e.g. 0003")
    parser.add_argument("--message", required=True, help="what it does, e.g. 'ledger labels'")
    parser.add_argument("--replace", action="store_true", help="first remove the existing script of --rev-id")
    parser.add_argument("--url", help="a database to diff against (default: a temporary SQLite file)")
    parser.add_argument("--schema", help="its PostgreSQL schema")
    args = parser.parse_args(argv)
    existing = sorted(VERSIONS.glob(f"{args.rev_id}_*.py"))
    if existing and not args.replace:
        parser.error(f"{existing[0].name} exists: pass --replace to make it again")
    for path in existing:
        path.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'generate.db'}"
        written = asyncio.run(_generate(url, args.schema, args.message, args.rev_id))
    for path in written:
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
