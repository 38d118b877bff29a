"""`serve()` in a real process: SIGTERM and SIGINT end it with status 0 after a graceful shutdown; a failing
lifespan start-up ends it with status 1 and one clear line."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tollgate_devstack.ports import free_port
from tollgate_servicekit.testing import eventually

APP = textwrap.dedent(
    """
    import contextlib, logging, sys
    from fastapi import FastAPI
    from tollgate_servicekit.serve import configure_logging, serve

    FAIL = sys.argv[2] == "fail"

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if FAIL:
            raise RuntimeError("the database settings are wrong")
        yield
        logging.getLogger("tiny").info("lifespan shut down cleanly")

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    configure_logging("info")
    serve(app, host="127.0.0.1", port=int(sys.argv[1]), name="tollgate-tiny")
    """
)


def start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    script = tmp_path / "tiny.py"
    script.write_text(APP)
    log = tmp_path / "tiny.log"
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(script), str(port), mode], stdout=out, stderr=out)
    return process, port, log


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
