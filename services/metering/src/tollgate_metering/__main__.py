"""`tollgate-metering`: the composition root, the only place that reads the environment."""

from __future__ import annotations

import logging
import signal
import sys

import uvicorn

from tollgate_metering.app import create_app
from tollgate_metering.domain.errors import ConfigurationError
from tollgate_metering.settings import Settings

logger = logging.getLogger("tollgate_metering")


def main() -> None:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        logger.error("cannot start: %s", exc)
        raise SystemExit(2) from exc
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_config=None,
        log_level=settings.log_level.lower(),
        lifespan="on",
    )
    # uvicorn handles SIGINT/SIGTERM while serving (stops accepting, runs the lifespan shutdown so consumers
    # finish their batch), then re-raises the signal to the handler that was there before it started. With
    # these no-op handlers a completed graceful shutdown exits 0 instead of dying of the signal.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _sig, _frame: None)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
