"""`run_service()` and `serve()` in a real process: SIGTERM and SIGINT end it with status 0 after a graceful
shutdown; a bad setting, a fatal configuration error or a failing lifespan start-up end it with status 1 and one
clear line, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tollgate_servicekit.tcp import free_port
from tollgate_servicekit.testing import eventually

APP = textwrap.dedent(
    """
    import contextlib, logging
    from fastapi import FastAPI
    from pydantic_settings import BaseSettings, SettingsConfigDict
    from tollgate_servicekit.serve import run_service

    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="TOLLGATE_TINY_")
        host: str = "127.0.0.1"
        port: int
        log_level: str = "info"
        access_log: bool = False
        mode: str = "ok"

    class Misconfigured(Exception):
        pass

    def create_app(settings):
        if settings.mode == "fatal":
            raise Misconfigured("no tiny key configured: set TOLLGATE_TINY_KEY")

        @contextlib.asynccontextmanager
        async def lifespan(app):
            if settings.mode == "fail":
                raise RuntimeError("the database settings are wrong")
            yield
            logging.getLogger("tiny").info("lifespan shut down cleanly")

        app = FastAPI(lifespan=lifespan)

        @app.get("/healthz")
        async def healthz():
            return {"status": "ok"}

        return app

    run_service(Settings, create_app, name="tollgate-tiny", fatal=(Misconfigured,))
    """
)


def start(tmp_path: Path, mode: str, port: str | None = None) -> tuple[subprocess.Popen[bytes], int, Path]:
    script = tmp_path / "tiny.py"
    script.write_text(APP)
    log = tmp_path / "tiny.log"
    free = free_port()
    env = {**os.environ, "TOLLGATE_TINY_PORT": port or str(free), "TOLLGATE_TINY_MODE": mode}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(script)], stdout=out, stderr=out, env=env)
    return process, free, log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_ends_the_server_gracefully_with_status_0(tmp_path: Path, sig: signal.Signals) -> None:
    process, port, log = start(tmp_path, "ok")
    try:
        async with httpx.AsyncClient() as client:

            async def healthy() -> bool:
                response = await client.get(f"http://127.0.0.1:{port}/healthz")
                return response.status_code == 200 and "server" not in response.headers

            await eventually(healthy, ignore=(httpx.TransportError,), timeout=30, what="the tiny app to serve")
        process.send_signal(sig)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        process.kill()
        process.wait()
    text = log.read_text()
    assert "lifespan shut down cleanly" in text
    assert "Traceback" not in text


async def test_a_failing_start_up_exits_1_with_one_clear_line(tmp_path: Path) -> None:
    process, _port, log = start(tmp_path, "fail")
    try:
        assert process.wait(timeout=30) == 1, log.read_text()
    finally:
        process.kill()
        process.wait()
    lines = [line for line in log.read_text().splitlines() if "tollgate-tiny did not start" in line]
    assert len(lines) == 1 and "exiting with status 1" in lines[0]


@pytest.mark.parametrize(
    ("mode", "port", "line"),
    [
        ("ok", "80 80 secret-looking", "tollgate-tiny: TOLLGATE_TINY_PORT: Input should be a valid integer"),
        ("fatal", None, "tollgate-tiny: no tiny key configured: set TOLLGATE_TINY_KEY"),
    ],
    ids=["bad-setting", "fatal-configuration"],
)
async def test_a_start_that_cannot_work_exits_1_with_one_line(
    tmp_path: Path, mode: str, port: str | None, line: str
) -> None:
    process, _port, log = start(tmp_path, mode, port)
    try:
        assert process.wait(timeout=30) == 1, log.read_text()
    finally:
        process.kill()
        process.wait()
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), lines
    assert "secret-looking" not in lines[0]  # never the submitted value
