"""`tollgate-keyvault`: read settings from the environment, serve the app until SIGINT/SIGTERM (servicekit)."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from tollgate_keyvault.app import create_app
from tollgate_keyvault.domain.errors import ConfigurationError
from tollgate_keyvault.settings import Settings
from tollgate_servicekit.serve import configure_logging, serve


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]).upper()
        sys.exit(f"tollgate-keyvault: TOLLGATE_KEYVAULT_{where}: {first['msg']}")
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        sys.exit(f"tollgate-keyvault: {exc}")
    serve(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        name="keyvault",
    )


if __name__ == "__main__":
    main()
