"""`tollgate-metering` as a real process, configured from the environment alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tollgate_devstack.ports import free_port


def test_the_console_script_starts_from_the_environment_becomes_ready_and_stops_on_sigterm(
    fresh_nats: Any, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TOLLGATE_METERING_PORT": str(port),
        "TOLLGATE_METERING_NATS_URL": fresh_nats.url,
        "TOLLGATE_METERING_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'metering.db'}",
        "TOLLGATE_METERING_ADMIN_KEY": "process-admin-key",
    }
    script = Path(sys.executable).parent / "tollgate-metering"
    process = subprocess.Popen([str(script)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        ready = _poll_ready(f"http://127.0.0.1:{port}/readyz", within=30.0)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            refused = client.get("/v1/usage/grt_x")
            unknown = client.get("/v1/usage/grt_x", headers={"Authorization": "Bearer process-admin-key"})
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert ready == {"status": "ready"}
    assert refused.status_code == 401
    assert unknown.status_code == 404
    assert process.returncode == 0
    assert "process-admin-key" not in log


def test_the_console_script_refuses_to_start_without_an_admin_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_METERING_")}
    env["TOLLGATE_METERING_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'metering.db'}"
    script = Path(sys.executable).parent / "tollgate-metering"
    result = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "no admin key" in result.stderr


def _poll_ready(url: str, within: float) -> Any:
    deadline = time.monotonic() + within
    while True:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} was not ready within {within:.0f}s")
        time.sleep(0.05)
