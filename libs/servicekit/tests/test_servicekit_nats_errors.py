"""`Bus.on_error`: what the server refuses reaches the service, not only the log."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tollgate_devstack.ports import free_port, wait_for_port
from tollgate_servicekit.nats import Bus
from tollgate_servicekit.testing import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def locked_nats(tmp_path: Path) -> Iterator[str]:
    """A nats-server whose one user `limited` may publish on `allowed.>` only; yields its URL."""
    port = free_port()
    config = tmp_path / "nats.conf"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        "authorization { users = [ { user: limited, password: limited-password, permissions: {\n"
        '  publish: { allow: ["allowed.>"] }, subscribe: { allow: ["_INBOX.>"] } } } ] }\n'
    )
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "nats-server"), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


async def test_a_refused_publish_reaches_every_error_hook_each_time(locked_nats: str) -> None:
    seen: list[str] = []
    bus = Bus(locked_nats, name="servicekit-test", user="limited", password="limited-password")
    bus.on_error(seen.append)
    bus.on_error(lambda _text: 1 / 0)  # a failing hook is logged and does not stop the others
    await bus.connect()
    try:
        for _ in range(2):
            await bus.nc.publish("refused.subject", b"")
            await bus.nc.flush()
        await bus.nc.publish("allowed.subject", b"")
        await bus.nc.flush()
        texts = await eventually(lambda: len([t for t in seen if "violation" in t]) >= 2 and seen, what="two refusals")
    finally:
        await bus.close()
    assert [t for t in texts if "violation" in t] == [
        'nats: permissions violation for publish to "refused.subject"'
    ] * 2
    assert not any("allowed.subject" in t for t in texts)
    assert all("limited-password" not in t for t in texts)
