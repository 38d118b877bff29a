"""`tollgate-metering`: the composition root, the only place that reads the environment (servicekit's
`run_service`: a start that cannot work, such as a bad setting or no admin key, is one line and status 1)."""

from __future__ import annotations

from tollgate_metering.app import create_app
from tollgate_metering.domain.errors import ConfigurationError
from tollgate_metering.settings import Settings
from tollgate_servicekit.serve import run_service


def main() -> None:
    run_service(Settings, create_app, name="tollgate-metering", fatal=(ConfigurationError,))


if __name__ == "__main__":
    main()
