"""`tollgate-auth`: read the settings from the environment and serve until SIGINT or SIGTERM (servicekit's
`run_service`: a bad setting or a missing signing-key KEK is one line and status 1)."""

from __future__ import annotations

from tollgate_auth.app import create_app
from tollgate_auth.domain.errors import ConfigurationError
from tollgate_auth.settings import Settings
from tollgate_servicekit.serve import run_service


def main() -> None:
    run_service(Settings, create_app, name="tollgate-auth", fatal=(ConfigurationError,))


if __name__ == "__main__":
    main()
