"""`Bus.last_state`: one direct get of an entity's last state, believed only from its owner, on a real nats-server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tollgate_contracts import TenantState
from tollgate_contracts.streams import TENANTS
from tollgate_contracts.tenants import TenantStatus
from tollgate_servicekit.errors import BusUnavailable
from tollgate_servicekit.nats import Bus
from tollgate_servicekit.natsserver import NatsServer


def tenant(tenant_id: str, producer: str = "auth/1") -> TenantState:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return TenantState(
        producer=producer, state_version=1, tenant_id=tenant_id, name="t", status=TenantStatus.ACTIVE, created_at=now
    )


async def test_the_last_state_is_believed_only_from_its_owner_and_for_its_key(fresh_nats: NatsServer) -> None:
    bus = Bus(fresh_nats.url, name="servicekit-test")
    await bus.connect()
    try:
        await bus.ensure_streams((TENANTS,))
        assert await bus.last_state(TenantState, "tnt_none", what="the tenant") is None
        await bus.publish(tenant("tnt_1"))
        found = await bus.last_state(TenantState, "tnt_1", what="the tenant")
        assert found is not None and found.tenant_id == "tnt_1"

        await bus.publish(tenant("tnt_2", producer="keyvault"))  # not the owner of tenant state
        assert await bus.last_state(TenantState, "tnt_2", what="the tenant") is None
        with pytest.raises(BusUnavailable, match="not its owner's"):
            await bus.last_state(TenantState, "tnt_2", what="the tenant", strict=True)

        await bus.publish_raw(f"{TenantState.subject_prefix}.tnt_3", b"not json")
        assert await bus.last_state(TenantState, "tnt_3", what="the tenant") is None
        with pytest.raises(BusUnavailable, match="unreadable"):
            await bus.last_state(TenantState, "tnt_3", what="the tenant", strict=True)

        with pytest.raises(ValueError, match="subject token"):
            await bus.last_state(TenantState, "tnt_*", what="the tenant")
    finally:
        await bus.close()
    with pytest.raises(BusUnavailable, match="the tenant cannot be checked"):
        await bus.last_state(TenantState, "tnt_1", what="the tenant")
