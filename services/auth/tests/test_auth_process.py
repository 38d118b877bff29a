"""`tollgate-auth` as a real process configured only by environment variables."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tollgate_servicekit.tcp import free_port
from tollgate_servicekit.testing import eventually

START_TIMEOUT = 60.0


def test_the_console_script_starts_from_env_serves_and_stops_cleanly(fresh_nats, tmp_path):
    port = free_port()
    key_file = tmp_path / "admin.key"
    kek_file = tmp_path / "secrets" / "signing-kek"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TOLLGATE_AUTH_NATS_URL": fresh_nats.url,
        "TOLLGATE_AUTH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}",
        "TOLLGATE_AUTH_ADMIN_KEY_FILE": str(key_file),
        "TOLLGATE_AUTH_SIGNING_KEK_FILE": str(kek_file),
        "TOLLGATE_AUTH_PORT": str(port),
    }
    script = Path(sys.executable).parent / "tollgate-auth"
    log = tmp_path / "auth.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(script)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert process.poll() is None, log.read_text()
            return httpx.get(f"{base}/readyz").status_code == 200

        asyncio.run(eventually(ready, timeout=START_TIMEOUT, what="auth /readyz", ignore=(httpx.TransportError,)))
        key = key_file.read_text().strip()
        created = httpx.post(
            f"{base}/v1/grants",
            headers={"Authorization": f"Bearer {key}"},
            json={"provider": "openai", "models": ["gpt-4o-mini"]},
        )
        assert created.status_code == 201
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=30)
    text = log.read_text()
    assert returncode == 0, text
    assert "auth is ready" in text
    assert key not in text
    # The embedded stack's way of keeping the signing-key KEK: generated into a private file at first start.
    assert kek_file.stat().st_mode & 0o777 == 0o600
    assert kek_file.parent.stat().st_mode & 0o777 == 0o700
    assert kek_file.read_text().splitlines()[-1].split()[1] not in text
    assert "Traceback" not in text
