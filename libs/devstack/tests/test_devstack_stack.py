"""A whole stack on SQLite: starts, describes itself without secrets, restarts in place, frees every port."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tollgate_devstack.layout import StackPorts
from tollgate_devstack.process import StackError
from tollgate_devstack.stack import Stack
from tollgate_servicekit.tcp import free_port, port_is_free

pytestmark = pytest.mark.integration


def mock_credentials(stack: Stack) -> list[dict[str, object]]:
    answer = httpx.get(
        f"{stack.keyvault_url}/v1/credentials",
        params={"tenant_id": stack.tenant_id},
        headers={"Authorization": f"Bearer {stack.admin_key}"},
        timeout=30,
    )
    answer.raise_for_status()
    return [c for c in answer.json()["data"] if c["status"] == "active"]


def test_a_stack_restarted_in_place_keeps_its_keys_and_moves_the_mock_registration(tmp_path: Path) -> None:
    home = tmp_path / "stack"
    first_ports = StackPorts.free()
    with Stack(home, ports=first_ports) as stack:
        described = json.loads((home / "stack.json").read_text())
        assert described["proxy_url"] == stack.proxy_url
        assert set(described["pids"]) == {"nats", "auth", "keyvault", "metering", "proxy", "mock"}
        text = (home / "stack.json").read_text()
        assert stack.admin_key not in text
        assert stack.mock_key not in text
        for secret in (home / "admin-key", home / "mock-provider-key", home / "kek"):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        first = {c["provider"]: c for c in mock_credentials(stack)}
        assert set(first) == {"openai", "anthropic"}
        assert first["anthropic"]["api_style"] == "anthropic"
        assert first["openai"]["base_url"] == stack.mock_url
        admin_key = stack.admin_key
    assert not (home / "stack.json").exists()
    assert [port for _, port in first_ports.items() if not port_is_free(port)] == []

    # Same data, the mock on another port: the stale registration is replaced, not duplicated.
    with Stack(home, ports=replace(StackPorts.free(), mock=free_port())) as again:
        assert again.admin_key == admin_key
        second = mock_credentials(again)
        assert sorted(c["provider"] for c in second) == ["anthropic", "openai"]
        assert all(c["base_url"] == again.mock_url for c in second)


def test_a_taken_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    import socket

    ports = StackPorts.free()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports.metering))
        holder.listen()
        with pytest.raises(StackError, match=rf"port already in use: {ports.metering} \(metering\)"):
            Stack(tmp_path / "stack", ports=ports).start()
    assert not (tmp_path / "stack" / "logs").exists()
