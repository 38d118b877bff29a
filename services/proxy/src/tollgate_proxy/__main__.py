"""`tollgate-proxy`: read the environment, run the proxy under uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal

import uvicorn

from tollgate_proxy.app import create_app
from tollgate_proxy.settings import Settings


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="on",
        access_log=settings.access_log,
        log_config=None,
        log_level=settings.log_level.lower(),
        server_header=False,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once shutdown is complete; with these handlers that re-raise
    # is a no-op, so SIGINT or SIGTERM ends the process with status 0 after a clean shutdown.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    server.run()


if __name__ == "__main__":
    main()
