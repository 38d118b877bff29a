"""`tollgate-keyvault`: read settings from the environment, run the app under uvicorn until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from tollgate_keyvault.app import create_app
from tollgate_keyvault.domain.errors import ConfigurationError
from tollgate_keyvault.settings import Settings


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]).upper()
        sys.exit(f"tollgate-keyvault: TOLLGATE_KEYVAULT_{where}: {first['msg']}")
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        app = create_app(settings)
    except ConfigurationError as exc:
        sys.exit(f"tollgate-keyvault: {exc}")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_config=None,
        lifespan="on",
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler it found; with the
    # default handler that kills the process (exit -15). A no-op handler lets a clean shutdown exit 0.
    signal.signal(signal.SIGTERM, _after_graceful_shutdown)
    signal.signal(signal.SIGINT, _after_graceful_shutdown)
    uvicorn.Server(config).run()
    logging.getLogger(__name__).info("keyvault stopped")


def _after_graceful_shutdown(signum: int, frame: FrameType | None) -> None:
    """Receives the signal uvicorn re-raises once it has shut down; nothing is left to do."""


if __name__ == "__main__":
    main()
