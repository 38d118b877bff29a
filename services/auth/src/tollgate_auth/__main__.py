"""`tollgate-auth`: read the settings from the environment and serve until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys

import uvicorn

from tollgate_auth.app import create_app
from tollgate_auth.domain.errors import ConfigurationError
from tollgate_auth.settings import Settings


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        sys.exit(f"tollgate-auth: {exc.message}")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_config=None,
        log_level=settings.log_level.lower(),
        server_header=False,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down cleanly; with these handlers in place
    # that re-raise is a no-op, so a SIGINT or SIGTERM ends the process with status 0, not a traceback.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    server.run()


if __name__ == "__main__":
    main()
