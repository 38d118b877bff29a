"""`tollgate-metering` as a real process, configured from the environment alone."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from tollgate_contracts import new_id
from tollgate_metering.testing import usage_recorded
from tollgate_servicekit.tcp import free_port
from tollgate_servicekit.testing import eventually

pytestmark = pytest.mark.integration


def _environment(port: int, nats_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TOLLGATE_METERING_PORT": str(port),
        "TOLLGATE_METERING_NATS_URL": nats_url,
        "TOLLGATE_METERING_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'metering.db'}",
        "TOLLGATE_METERING_ADMIN_KEY": "process-admin-key",
    }


async def test_the_console_script_starts_from_the_environment_becomes_ready_and_stops_on_sigterm(
    fresh_nats: Any, streams: None, tmp_path: Path
) -> None:
    port = free_port()
    env = _environment(port, fresh_nats.url, tmp_path)
    script = Path(sys.executable).parent / "tollgate-metering"
    process = await asyncio.create_subprocess_exec(str(script), env=env, stderr=asyncio.subprocess.PIPE)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:

            async def ready() -> Any:
                response = await client.get("/readyz")
                return response.json() if response.status_code == 200 else None

            answer = await eventually(ready, timeout=30, what="/readyz", ignore=(httpx.TransportError,))
            refused = await client.get("/v1/usage/grt_x")
            unknown = await client.get("/v1/usage/grt_x", headers={"Authorization": "Bearer process-admin-key"})
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, stderr = await process.communicate()
    log = stderr.decode()
    assert answer == {"status": "ready"}
    assert refused.status_code == 401
    assert unknown.status_code == 404
    assert process.returncode == 0  # a graceful stop on SIGTERM, as every service (servicekit's serve)
    assert "process-admin-key" not in log


async def test_a_sigkilled_metering_counts_every_record_exactly_once_after_its_restart(
    fresh_nats: Any, streams: None, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **_environment(port, fresh_nats.url, tmp_path),
        "TOLLGATE_METERING_CONSUMER_BATCH": "5",  # many small transactions: the kill lands between or inside one
        "TOLLGATE_METERING_ACK_WAIT_SECONDS": "2",  # what the killed process held comes back soon
    }
    script = str(Path(sys.executable).parent / "tollgate-metering")
    records = [usage_recorded("grt_killed", input_tokens=i) for i in range(300)]
    nc = await nats.connect(fresh_nats.url)
    js = nc.jetstream()
    for record in records:
        await js.publish(record.subject, record.model_dump_json().encode(), headers={"Nats-Msg-Id": record.request_id})

    async def acked() -> int:
        info = await js.consumer_info("TG_USAGE", "metering")
        return info.ack_floor.stream_seq if info.ack_floor else 0

    try:
        first = await asyncio.create_subprocess_exec(script, env=env, stderr=asyncio.subprocess.DEVNULL)
        try:
            await eventually(lambda: _positive(acked()), timeout=30, what="some records acked", ignore=(Exception,))
        finally:
            first.kill()  # SIGKILL: no shutdown, a batch may be half done
            await first.wait()
        for record in records[::30]:  # re-sent under new message ids while it is down
            await js.publish(record.subject, record.model_dump_json().encode(), headers={"Nats-Msg-Id": new_id("msg")})
        last = (await js.stream_info("TG_USAGE")).state.last_seq
        second = await asyncio.create_subprocess_exec(script, env=env, stderr=asyncio.subprocess.DEVNULL)
        try:
            await eventually(lambda: _at_least(acked(), last), timeout=60, what="everything acked", ignore=(Exception,))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                usage = (
                    await client.get("/v1/usage/grt_killed", headers={"Authorization": "Bearer process-admin-key"})
                ).json()
        finally:
            second.terminate()
            await second.wait()
    finally:
        await nc.close()
    assert (usage["requests"], usage["input_tokens"]) == (300, sum(range(300)))


async def _positive(value: Awaitable[int]) -> bool:
    return await value > 0


async def _at_least(value: Awaitable[int], target: int) -> bool:
    return await value >= target


def test_the_console_script_refuses_to_start_without_an_admin_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_METERING_")}
    env["TOLLGATE_METERING_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'metering.db'}"
    script = Path(sys.executable).parent / "tollgate-metering"
    result = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1  # as every service's failed start
    assert "no admin key" in result.stderr
    assert "Traceback" not in result.stderr
    env["TOLLGATE_METERING_PORT"] = "not-a-port-secret-looking-value"
    result = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "TOLLGATE_METERING_PORT" in result.stderr
    assert "Traceback" not in result.stderr and "secret-looking" not in result.stderr
