"""`tollgate-keyvault`: read settings from the environment, serve the app until SIGINT/SIGTERM (servicekit's
`run_service`: a bad setting, or no KEK or admin key, is one line and status 1)."""

from __future__ import annotations

from tollgate_keyvault.app import create_app
from tollgate_keyvault.domain.errors import ConfigurationError
from tollgate_keyvault.settings import Settings
from tollgate_servicekit.serve import run_service


def main() -> None:
    run_service(Settings, create_app, name="tollgate-keyvault", fatal=(ConfigurationError,))


if __name__ == "__main__":
    main()
