"""Seeded error injection and the console script, each against a server of its own."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tollgate_mockprovider import Settings
from tollgate_mockprovider.testing import MockProviderServer
from tollgate_servicekit.tcp import free_port
from tollgate_servicekit.testing import eventually


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    def healthy() -> bool:
        assert process.poll() is None, f"the mock provider exited with status {process.poll()}"
        return httpx.get(url, timeout=1).status_code == 200

    asyncio.run(eventually(healthy, timeout=timeout, what=url, ignore=(httpx.TransportError,)))


CHAT: dict[str, object] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def _statuses(settings: Settings, path: str, body: dict[str, object], count: int) -> list[int]:
    with MockProviderServer(settings) as server, httpx.Client(base_url=server.base_url) as client:
        return [client.post(path, json=body, headers={"authorization": "Bearer k"}).status_code for _ in range(count)]


def test_injected_errors_follow_the_seed() -> None:
    settings = Settings(error_rate=0.4, error_seed=7)
    first = _statuses(settings, "/v1/chat/completions", CHAT, 30)
    assert set(first) == {200, 500}
    assert first == _statuses(settings, "/v1/chat/completions", CHAT, 30)


def test_injected_errors_on_messages_are_overloaded() -> None:
    body = {**CHAT, "max_tokens": 5}
    assert set(_statuses(Settings(error_rate=1.0), "/v1/messages", body, 5)) == {529}


def test_any_key_is_accepted_when_none_is_configured() -> None:
    assert _statuses(Settings(), "/v1/chat/completions", CHAT, 1) == [200]


def test_console_script_serves_with_env_settings_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TOLLGATE_MOCK_PORT": str(port),
        "TOLLGATE_MOCK_API_KEY": "sk-env",
        "TOLLGATE_MOCK_CHUNKS": "2",
    }
    script = Path(sys.executable).parent / "tollgate-mock-provider"
    with (tmp_path / "mock.log").open("wb") as log:
        process = subprocess.Popen([str(script)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        ok = httpx.post(url, json=CHAT, headers={"authorization": "Bearer sk-env"})
        assert ok.json()["usage"]["completion_tokens"] == 2
        assert httpx.post(url, json=CHAT, headers={"authorization": "Bearer nope"}).status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught so the parent sees it.
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)
    output = (tmp_path / "mock.log").read_text()
    assert "Finished server process" in output
    assert "sk-env" not in output
