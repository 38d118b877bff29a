"""A service's entry point: `configure_logging(level)` then `serve(app, host=…, port=…)`.

One behaviour for every service: uvicorn on uvloop and httptools, no `Server` header, our logging
configuration (not uvicorn's), the lifespan required (`lifespan="on"`: a failing start-up stops the process
instead of being mistaken for "no lifespan support"). Exit status: 0 after SIGINT/SIGTERM and a graceful
shutdown; 1 when the lifespan start-up fails or the port cannot be bound, with one log line saying so.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType
from typing import Any, NoReturn

import uvicorn
from starlette.types import ASGIApp

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
EXIT_OK = 0
EXIT_START_FAILED = 1


def configure_logging(level: str = "info") -> None:
    """Log lines `time LEVEL logger: message` to stderr at `level` (`debug`, `info`, …; any case)."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr)


def serve(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    access_log: bool = False,
    name: str | None = None,
    **uvicorn_options: Any,
) -> NoReturn:
    """Serve `app` until SIGINT/SIGTERM, then `sys.exit` with the status above. `name` (default: the logger's)
    names the service in the start-up failure line; `uvicorn_options` go to `uvicorn.Config` (e.g. `ws="none"`)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=access_log,
        log_config=None,
        log_level=log_level.lower(),
        server_header=False,
        **uvicorn_options,
    )
    server = uvicorn.Server(config)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal to the handler that was
    # installed before it started; with the default handler that kills the process (status -15, or a
    # KeyboardInterrupt traceback). These no-op handlers make a completed graceful shutdown exit 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _after_graceful_shutdown)
    try:
        server.run()
    except SystemExit as exc:
        # uvicorn exits 3 when the lifespan start-up fails, 1 when it cannot bind; it has logged the cause.
        if exc.code not in (None, 0):
            _start_failed(name, f"uvicorn exited with status {exc.code}")
        raise
    if not server.started:
        _start_failed(name, "the server never started")
    sys.exit(EXIT_OK)


def _start_failed(name: str | None, why: str) -> NoReturn:
    logger.error("%s did not start (%s; the cause is logged above); exiting with status 1", name or "service", why)
    sys.exit(EXIT_START_FAILED)


def _after_graceful_shutdown(signum: int, frame: FrameType | None) -> None:
    """Receives the signal uvicorn re-raises once it has shut down; nothing is left to do."""
