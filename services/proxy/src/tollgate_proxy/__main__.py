"""`tollgate-proxy`: the composition root, the only place that reads the environment; servicekit's
`run_service` runs it (exit 0 after SIGINT/SIGTERM and a graceful shutdown, 1 with one line when a setting is
bad or start-up fails)."""

from __future__ import annotations

from tollgate_proxy.app import create_app
from tollgate_proxy.settings import Settings
from tollgate_servicekit.serve import run_service


def main() -> None:
    # No websockets on the data plane: uvicorn need not load a websocket implementation.
    run_service(Settings, create_app, name="tollgate-proxy", ws="none")


if __name__ == "__main__":
    main()
