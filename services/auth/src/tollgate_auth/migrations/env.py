"""Alembic's entry for auth's migrations; run by `tollgate_auth.migrations.upgrade` (servicekit's runner)."""

from tollgate_auth.migrations import metadata
from tollgate_servicekit.migrations import run_env

run_env(metadata())
