"""`tollgate-auth`: read the settings from the environment and serve until SIGINT or SIGTERM."""

from __future__ import annotations

import sys

from tollgate_auth.app import create_app
from tollgate_auth.domain.errors import ConfigurationError
from tollgate_auth.settings import Settings
from tollgate_servicekit.serve import configure_logging, serve


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        sys.exit(f"tollgate-auth: {exc.message}")
    serve(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        name="tollgate-auth",
    )


if __name__ == "__main__":
    main()
