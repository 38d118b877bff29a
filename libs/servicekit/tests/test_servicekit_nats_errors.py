"""`Bus.on_error`: what the server refuses reaches the service, not only the log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tollgate_contracts.permissions import BusUser, allow, inbox_prefix
from tollgate_servicekit.nats import Bus
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.testing import eventually

pytestmark = pytest.mark.integration

LIMITED = BusUser(
    name="limited",
    role="may publish on allowed.> only",
    publish=(allow("The one subject family this test allows.", "allowed.>"),),
    subscribe=(allow("Its own replies.", f"{inbox_prefix('limited')}.>"),),
)


@pytest.fixture
def locked_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server whose one user `limited` may publish on `allowed.>` only (no harness)."""
    with NatsServer(tmp_path / "nats", harness=False, service_users=(LIMITED,)) as server:
        yield server


async def test_a_refused_publish_reaches_every_error_hook_each_time(locked_nats: NatsServer) -> None:
    seen: list[str] = []
    user, password = locked_nats.credentials("limited")
    bus = Bus(locked_nats.address, name="servicekit-test", user=user, password=password)
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
    assert all(password not in t for t in texts)
