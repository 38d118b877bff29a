"""Alembic's entry for metering's migrations; run by `tollgate_metering.migrations.upgrade` (servicekit's runner)."""

from tollgate_metering.migrations import metadata
from tollgate_servicekit.migrations import run_env

run_env(metadata())
