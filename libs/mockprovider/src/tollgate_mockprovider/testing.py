"""A real mock-provider server in a background thread, for tests of this and other packages.

    with MockProviderServer(Settings(api_key=SecretStr("sk-test"))) as mock:
        client = openai.OpenAI(base_url=mock.openai_base_url, api_key="sk-test")

It binds port 0, so it never races another process for a port.
"""

from __future__ import annotations

import threading
import time

import uvicorn

from tollgate_mockprovider.app import create_app
from tollgate_mockprovider.settings import Settings


class MockProviderServer:
    """uvicorn serving `create_app(settings)` on 127.0.0.1 on a thread of its own; `start()`/`stop()` or `with`."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """The API root without `/v1` (Anthropic SDK's `base_url`, keyvault's `base_url`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    def start(self, timeout: float = 10.0) -> MockProviderServer:
        config = uvicorn.Config(
            create_app(self.settings),
            host="127.0.0.1",
            port=0,
            loop="uvloop",
            http="httptools",
            lifespan="off",
            ws="none",
            access_log=False,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, name="mock-provider", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the mock provider did not start")
            time.sleep(0.005)
        self.port = int(server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> MockProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
