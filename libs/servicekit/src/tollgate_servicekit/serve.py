"""A service's entry point: `run_service(Settings, create_app, name=…)`, the whole of its `__main__`.

One behaviour for every service: the settings read from the environment (a bad value is one line naming the
variable, never the value), logging configured, the app built (an error the service calls fatal, such as a
missing key, is one line), then `serve`: uvicorn on uvloop and httptools, no `Server` header, our logging
configuration (not uvicorn's), the lifespan required (`lifespan="on"`: a failing start-up stops the process
instead of being mistaken for "no lifespan support"). Exit status: 0 after SIGINT/SIGTERM and a graceful
shutdown; 1 for a bad setting, a fatal configuration error, a failed lifespan start-up or a port that cannot be
bound, each with one line saying so and no traceback.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn, Protocol, TypeVar

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError
from starlette.types import ASGIApp

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
EXIT_OK = 0
EXIT_START_FAILED = 1


class ServiceSettings(Protocol):
    """What `run_service` reads from a service's settings (every service's `Settings` has these fields)."""

    host: str
    port: int
    log_level: str
    access_log: bool


S = TypeVar("S", bound=ServiceSettings)


def run_service(
    settings: Callable[[], S],
    create_app: Callable[[S], ASGIApp],
    *,
    name: str,
    fatal: tuple[type[Exception], ...] = (),
    **uvicorn_options: Any,
) -> NoReturn:
    """Read `settings()` (a `BaseSettings` class), configure logging, build `create_app(settings)` and serve it.

    `name` (`tollgate-auth`) starts every line saying why the process stopped. A `ValidationError` from the
    settings becomes `"<name>: <ENV_PREFIX><FIELD>: <problem>"` (the first problem; the submitted value is never
    shown); an error of a `fatal` type from `create_app` becomes `"<name>: <its message>"`. Both exit 1 before
    anything listens. Then `serve` decides the exit status.
    """
    try:
        values = settings()
    except ValidationError as exc:
        sys.exit(f"{name}: {_first_problem(exc, getattr(settings, 'model_config', {}).get('env_prefix') or '')}")
    except SettingsError as exc:  # a value pydantic-settings could not even parse; its message names no value
        sys.exit(f"{name}: {exc}")
    configure_logging(values.log_level)
    try:
        app = create_app(values)
    except fatal as exc:
        sys.exit(f"{name}: {exc}")
    serve(
        app,
        host=values.host,
        port=values.port,
        log_level=values.log_level,
        access_log=values.access_log,
        name=name,
        **uvicorn_options,
    )


def _first_problem(exc: ValidationError, env_prefix: str) -> str:
    first = exc.errors(include_input=False, include_url=False)[0]
    # The field is the variable to fix (`loc` may go on into a list index); a model-level check has no field.
    field = str(first["loc"][0]).upper() if first["loc"] else ""
    return f"{env_prefix}{field}: {first['msg']}" if field else first["msg"]


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
