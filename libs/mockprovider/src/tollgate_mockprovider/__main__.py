"""`tollgate-mock-provider`: serve the mock on `TOLLGATE_MOCK_HOST:TOLLGATE_MOCK_PORT` until SIGINT/SIGTERM."""

from __future__ import annotations

import logging

import uvicorn

from tollgate_mockprovider.app import create_app
from tollgate_mockprovider.settings import Settings

logger = logging.getLogger(__name__)


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logger.info(
        "mock provider on http://%s:%d (key %s)",
        settings.host,
        settings.port,
        "required" if settings.api_key is not None else "any",
    )
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        ws="none",
        access_log=settings.access_log,
        log_level=settings.log_level.lower(),
        server_header=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
