"""Alembic's entry for keyvault's migrations; run by `tollgate_keyvault.migrations.upgrade` (servicekit's runner)."""

from tollgate_keyvault.migrations import metadata
from tollgate_servicekit.migrations import run_env

run_env(metadata())
