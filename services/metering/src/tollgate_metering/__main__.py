"""`tollgate-metering`: the composition root, the only place that reads the environment."""

from __future__ import annotations

import logging
import sys

from tollgate_metering.app import create_app
from tollgate_metering.domain.errors import ConfigurationError
from tollgate_metering.settings import Settings
from tollgate_servicekit.serve import EXIT_START_FAILED, configure_logging, serve

logger = logging.getLogger("tollgate_metering")


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        # The same status as any other failed start (servicekit's serve): one line, exit 1.
        logger.error("tollgate-metering did not start: %s", exc.message)
        sys.exit(EXIT_START_FAILED)
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
