"""`tollgate-metering`: the composition root, the only place that reads the environment."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from tollgate_metering.app import create_app
from tollgate_metering.domain.errors import ConfigurationError
from tollgate_metering.settings import Settings
from tollgate_servicekit.serve import configure_logging, serve


def main() -> None:
    # A start that cannot work exits 1 with one line on stderr, as auth and keyvault do (and servicekit's serve
    # for a failed lifespan start-up); never a traceback, never a submitted value.
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]).upper()
        sys.exit(f"tollgate-metering: TOLLGATE_METERING_{where}: {first['msg']}")
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        sys.exit(f"tollgate-metering: {exc.message}")
    serve(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        name="tollgate-metering",
    )


if __name__ == "__main__":
    main()
