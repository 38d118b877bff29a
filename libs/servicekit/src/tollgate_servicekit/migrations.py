"""A service's Alembic migrations, run from inside the service on its `Database` (the `sql` extra).

No alembic.ini: the scripts live in the service's package (`script_location="tollgate_auth:migrations"`), and the
connection is handed to the service's `env.py` through `Config.attributes` (Alembic's documented pattern for
programmatic use); that `env.py` is two lines, `run_env(metadata)`.

- PostgreSQL: the DDL and the version table (`alembic_version`) go into the service's schema: the connection's
  `search_path` and `schema_translate_map` (servicekit's `Database`) point unqualified names there, and the
  schema is created first if missing.
- SQLite: `render_as_batch` (SQLite's ALTER TABLE does little; Alembic rebuilds the table when it must), with
  foreign keys off for the run and checked before commit — SQLite's own procedure for schema changes.
- Replicas starting together: one migrates, the others wait and then find nothing to do. PostgreSQL: the same
  transaction-scoped advisory lock as `Database.create_all`, and the whole upgrade is one transaction. SQLite:
  `BEGIN IMMEDIATE` takes the database's write lock for the whole upgrade (others wait up to the busy timeout).
- A database made before migrations existed (tables, no version table) is stamped, then upgraded: at head when it
  already matches the models exactly (it was made by `create_all` of the current tables), else at `baseline`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.operations.ops import AddColumnOp, MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, DefaultClause, MetaData, String, TypeDecorator, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from tollgate_servicekit.sql import Database, translate_errors

__all__ = [
    "VERSION_TABLE",
    "MigrationError",
    "alembic_config",
    "context_options",
    "generate",
    "main",
    "run_env",
    "upgrade",
]

logger = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version"


class MigrationError(Exception):
    """The migrations cannot bring this database to the models (not transient: retrying will not help)."""


def alembic_config(script_location: str) -> Config:
    """An Alembic `Config` with no file: `script_location` is `package:directory` or a path."""
    config = Config()
    config.set_main_option("script_location", script_location)
    return config


def context_options(connection: Connection) -> dict[str, Any]:
    """What every run configures: `env.py`'s upgrades and autogenerates, and the check of an older database."""
    return {
        "version_table": VERSION_TABLE,
        "render_as_batch": connection.dialect.name == "sqlite",
        "compare_type": True,
        "render_item": _render_item,
        "process_revision_directives": _defaults_for_existing_rows,
    }


def run_env(metadata: MetaData) -> None:
    """The body of a service's `env.py`: run on the connection `upgrade`/`generate` put in the config, against the
    metadata they were given (the same as `metadata` in a service; another one to write a baseline)."""
    from alembic import context

    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise MigrationError("run migrations through tollgate_servicekit.migrations, not the alembic command")
    target = context.config.attributes.get("metadata", metadata)
    context.configure(connection=connection, target_metadata=target, **context_options(connection))
    # The caller's transaction (and lock) is already open: Alembic then begins and commits nothing itself.
    with context.begin_transaction():
        context.run_migrations()


async def upgrade(database: Database, script_location: str, metadata: MetaData, *, baseline: str) -> None:
    """Bring `database` to the newest revision in `script_location`. Safe from every replica at once.

    Transient failures raise `StoreUnavailable` (retry later); `MigrationError` when the scripts cannot apply."""
    config = alembic_config(script_location)
    async with translate_errors(), _locked(database) as conn:
        await conn.run_sync(_upgrade, config, metadata, baseline)
    if database.path is not None:
        Database._tighten(database.path)


async def generate(
    database: Database, script_location: str, metadata: MetaData, *, baseline: str, message: str, rev_id: str
) -> list[Path]:
    """Autogenerate revision `rev_id` (the models' difference from the newest script) after upgrading `database`
    (best a fresh, empty one) to that script. Returns the files written; review them before committing."""
    config = alembic_config(script_location)
    async with translate_errors(), _locked(database) as conn:
        await conn.run_sync(_upgrade, config, metadata, baseline)
        written = await conn.run_sync(_revision, config, message, rev_id)
    return written


GENERATE_HELP = """\
A temporary SQLite database (or --url/--schema, e.g. PostgreSQL) is upgraded to the newest script, after --replace
removed --rev-id's own script (so an unreleased revision can be made again), and the models' difference from it
becomes versions/<rev_id>_<slug>.py. Review what it writes: autogenerate does not see renames (a drop and an add)
nor changes of server defaults."""


def main(
    script_location: str,
    metadata: MetaData,
    *,
    baseline: str,
    prog: str,
    description: str | None = None,
    argv: list[str] | None = None,
) -> int:
    """A service's `migrations/generate.py` command line (`GENERATE_HELP`); prints the files written."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=GENERATE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rev-id", required=True, help="the new revision's id, e.g. 0003")
    parser.add_argument("--message", required=True, help="what it does, e.g. 'grant requests'")
    parser.add_argument("--replace", action="store_true", help="first remove the existing script of --rev-id")
    parser.add_argument("--url", help="a database to diff against (default: a temporary SQLite file)")
    parser.add_argument("--schema", help="its PostgreSQL schema")
    args = parser.parse_args(argv)
    versions = Path(ScriptDirectory.from_config(alembic_config(script_location)).versions)
    existing = sorted(versions.glob(f"{args.rev_id}_*.py"))
    if existing and not args.replace:
        parser.error(f"{existing[0].name} exists: pass --replace to make it again")
    for path in existing:
        path.unlink()

    async def run(url: str) -> list[Path]:
        database = Database(url, args.schema)
        try:
            return await generate(
                database, script_location, metadata, baseline=baseline, message=args.message, rev_id=args.rev_id
            )
        finally:
            await database.dispose()

    with tempfile.TemporaryDirectory() as tmp:
        written = asyncio.run(run(args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'generate.db'}"))
    for path in written:
        sys.stdout.write(f"{path}\n")
    return 0


def _upgrade(conn: Connection, config: Config, metadata: MetaData, baseline: str) -> None:
    config.attributes["connection"] = conn
    config.attributes["metadata"] = metadata
    tables = set(inspect(conn).get_table_names())
    if tables and VERSION_TABLE not in tables:
        context = MigrationContext.configure(conn, opts=context_options(conn))
        same = not compare_metadata(context, metadata)
        revision = "head" if same else baseline
        if ScriptDirectory.from_config(config).get_revision(revision) is None:
            raise MigrationError(f"no revision {revision!r} to stamp an older database with")
        logger.warning("the database has tables but no %s: stamping it at %s, then upgrading", VERSION_TABLE, revision)
        command.stamp(config, revision)
    command.upgrade(config, "head")


def _revision(conn: Connection, config: Config, message: str, rev_id: str) -> list[Path]:
    config.attributes["connection"] = conn
    scripts = command.revision(config, message=message, rev_id=rev_id, autogenerate=True)
    listed = scripts if isinstance(scripts, list) else [scripts]
    return [Path(s.path) for s in listed if s is not None]


@asynccontextmanager
async def _locked(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that holds the database's migration lock; committed when the block ends."""
    if database.is_postgres:
        async with database.engine.begin() as conn:
            # The key create_all uses too: a migration and a create_all never interleave either.
            key = f"ddl:{database.schema or ''}"
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
            if database.schema:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{database.schema}"'))
            yield conn
        return
    async with database.engine.connect() as conn:
        # The driver begins no transaction of its own, so ours spans the DDL too; foreign keys are switched off
        # outside it (PRAGMA foreign_keys is a no-op inside one) so a rebuilt parent table keeps its children.
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
                broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise MigrationError(f"the migration leaves {len(broken)} row(s) breaking a foreign key")
                await conn.exec_driver_sql("COMMIT")
            except BaseException:
                with suppress(Exception):
                    await conn.exec_driver_sql("ROLLBACK")
                raise
        finally:
            try:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            except Exception:
                # Never back to the pool without its foreign keys; and the migration's own error is the one raised.
                await conn.invalidate()


def _render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    """Generated scripts name plain SQLAlchemy types: a TypeDecorator (UtcDateTime) by its implementation, SQLModel's
    AutoString as String — so a migration never depends on the Python classes of today's models."""
    if kind != "type" or not isinstance(obj, TypeEngine):
        return False
    base: TypeEngine[Any] = obj.impl_instance if isinstance(obj, TypeDecorator) else obj
    if isinstance(base, String) and type(base).__module__.startswith("sqlmodel"):
        base = String(length=base.length)
    if type(base).__module__ == "sqlalchemy.sql.sqltypes" and base is not obj:
        return f"sa.{base!r}"
    return False


def _defaults_for_existing_rows(_context: MigrationContext, _revision: Any, directives: list[MigrationScript]) -> None:
    """A NOT NULL column added to a table that has rows needs a value for them: autogenerate writes none, so a
    scalar Python default of the model (`Field(default="total")`) becomes the column's server default."""
    for script in directives:
        for op in _walk(script.upgrade_ops):
            if not isinstance(op, AddColumnOp):
                continue
            column = op.column
            default = column.default
            value = getattr(default, "arg", None) if default is not None and default.is_scalar else None
            if column.nullable or column.server_default is not None or not isinstance(value, str | int):
                continue
            if isinstance(value, bool):
                continue
            added = column._copy()
            added.server_default = DefaultClause(str(value))
            op.column = added


def _walk(container: Any) -> list[Any]:
    found: list[Any] = []
    for op in getattr(container, "ops", None) or []:
        found.append(op)
        found.extend(_walk(op))
    return found
