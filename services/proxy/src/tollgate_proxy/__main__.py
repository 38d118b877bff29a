"""`tollgate-proxy`: the composition root, the only place that reads the environment; servicekit's `serve()`
runs it (exit 0 after SIGINT/SIGTERM and a graceful shutdown, 1 when start-up fails)."""

from __future__ import annotations

from tollgate_proxy.app import create_app
from tollgate_proxy.settings import Settings
from tollgate_servicekit.serve import configure_logging, serve


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    serve(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.access_log,
        name="tollgate-proxy",
        ws="none",
    )


if __name__ == "__main__":
    main()
