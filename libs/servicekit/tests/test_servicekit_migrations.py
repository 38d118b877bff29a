"""tollgate_servicekit.migrations on SQLite and PostgreSQL, with a two-revision script directory of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text

from tollgate_servicekit.migrations import VERSION_TABLE, generate, upgrade
from tollgate_servicekit.sql import Database
from tollgate_servicekit.sqltypes import UtcDateTime

ENV = "from sqlalchemy import MetaData\nfrom tollgate_servicekit.migrations import run_env\n\nrun_env(MetaData())\n"
FIRST = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("things", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("name", sa.String(20)))
"""
SECOND = """
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    with op.batch_alter_table("things") as batch:
        batch.add_column(sa.Column("colour", sa.String(10), server_default="red", nullable=False))
"""


def v1() -> MetaData:
    metadata = MetaData()
    Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String(20)))
    return metadata


def v2() -> MetaData:
    metadata = v1()
    metadata.tables["things"].append_column(Column("colour", String(10), nullable=False, default="red"))
    return metadata


def scripts(root: Path, *versions: str) -> str:
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text(ENV)
    for number, body in enumerate(versions, 1):
        (root / "versions" / f"000{number}_step.py").write_text(body)
    return str(root)


async def revision_of(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


@pytest.fixture
async def db(database):
    opened = Database(database.url, database.schema)
    yield opened
    await opened.dispose()


async def test_an_empty_database_is_upgraded_to_head_with_the_version_table_beside_the_tables(db, tmp_path):
    await upgrade(db, scripts(tmp_path, FIRST, SECOND), v2(), baseline="0001")
    assert await revision_of(db) == "0002"
    async with db.engine.connect() as conn:
        if db.is_postgres:
            query = text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s ORDER BY 1")
            names = [r[0] for r in await conn.execute(query, {"s": db.schema})]
        else:
            names = [
                r[0] for r in await conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1"))
            ]
    assert names == [VERSION_TABLE, "things"]


async def test_a_database_older_than_migrations_is_stamped_at_the_baseline_and_keeps_its_rows(db, tmp_path):
    await db.create_all(v1())
    async with db.engine.begin() as conn:
        await conn.execute(insert(v1().tables["things"]).values(id=1, name="kept"))
    await upgrade(db, scripts(tmp_path, FIRST, SECOND), v2(), baseline="0001")
    assert await revision_of(db) == "0002"
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(v2().tables["things"]))).all()
    assert [tuple(r) for r in rows] == [(1, "kept", "red")]


async def test_a_database_made_from_todays_models_is_stamped_at_head(db, tmp_path):
    await db.create_all(v2())  # 0002's ADD COLUMN would fail here: it must not run
    await upgrade(db, scripts(tmp_path, FIRST, SECOND), v2(), baseline="0001")
    assert await revision_of(db) == "0002"


async def test_generate_writes_plain_types_and_a_server_default_for_old_rows(db, tmp_path):
    metadata = v2()
    metadata.tables["things"].append_column(Column("seen_at", UtcDateTime(), nullable=True))
    location = scripts(tmp_path, FIRST)
    (tmp_path / "script.py.mako").write_text(
        '"""${message}"""\nimport sqlalchemy as sa\nfrom alembic import op\n${imports if imports else ""}\n'
        "revision = ${repr(up_revision)}\ndown_revision = ${repr(down_revision)}\n\n\n"
        'def upgrade():\n    ${upgrades if upgrades else "pass"}\n\n\n'
        'def downgrade():\n    ${downgrades if downgrades else "pass"}\n'
    )
    [written] = await generate(db, location, metadata, baseline="0001", message="colour", rev_id="0002")
    body = written.read_text()
    assert "server_default='red'" in body
    assert "sa.DateTime(timezone=True)" in body
    assert "tollgate_servicekit" not in body
