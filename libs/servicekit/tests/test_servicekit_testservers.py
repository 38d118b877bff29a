"""The test servers and their plumbing: free ports, child processes, files rendered 0600, a locked nats-server."""

from __future__ import annotations

import os
import socket
import stat
import sys
from pathlib import Path

import nats
import pytest
from nats.errors import Error as NatsError

from tollgate_contracts.permissions import HARNESS, METERING, SERVICE_USERS, service_user
from tollgate_servicekit.natsserver import NatsServer, narrowed
from tollgate_servicekit.processes import spawn
from tollgate_servicekit.secretfiles import new_password, write_private_file
from tollgate_servicekit.tcp import free_port, port_is_free, port_is_open, wait_for_port
from tollgate_servicekit.testing import eventually

FETCH = "$JS.API.CONSUMER.MSG.NEXT.TG_USAGE.metering"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_free_port_is_bindable_until_something_listens_on_it() -> None:
    port = free_port()
    assert port_is_free(port) and not port_is_open(port)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert port_is_open(port) and not port_is_free(port)
        wait_for_port(port, timeout=1)
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{port}"):
        wait_for_port(port, timeout=0.05)


def test_a_rendered_private_file_is_0600_and_replaces_a_looser_one(tmp_path: Path) -> None:
    path = tmp_path / "new" / "nats.conf"
    write_private_file(path, "first\n")
    assert path.read_text() == "first\n" and _mode(path) == 0o600 and _mode(path.parent) == 0o700
    path.chmod(0o644)
    write_private_file(path, "second\n")
    assert path.read_text() == "second\n" and _mode(path) == 0o600


def test_generated_passwords_are_long_url_safe_and_distinct() -> None:
    first, second = new_password(), new_password()
    assert first != second and len(first) == 43
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_spawned_child_has_its_own_process_group_and_a_0600_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "child.log"
    child = spawn([sys.executable, "-c", "import os; print(os.getpgid(0), os.getpid(), flush=True)"], os.environ, log)
    try:
        assert child.wait(10) == 0
    finally:
        if child.poll() is None:
            child.kill()
    group, pid = map(int, log.read_text().split())
    assert group == pid == child.pid != os.getpgid(0)  # it leads a group of its own, not ours
    assert _mode(log) == 0o600


def test_narrowed_takes_away_exactly_the_named_publish_rights() -> None:
    users = narrowed(SERVICE_USERS, "metering", without=(FETCH,))
    metering = next(user for user in users if user.name == "metering")
    assert not metering.may_publish(FETCH)
    assert set(METERING.publish_subjects()) - set(metering.publish_subjects()) == {FETCH}
    assert metering.subscribe == METERING.subscribe and metering.allow_responses
    assert [user for user in users if user.name != "metering"] == [u for u in SERVICE_USERS if u.name != "metering"]


def test_narrowed_refuses_a_right_the_user_never_had_and_an_unknown_user() -> None:
    with pytest.raises(ValueError, match="may not publish"):
        narrowed(SERVICE_USERS, "proxy", without=("grant.state.v1.>",))
    with pytest.raises(KeyError, match="nobody"):
        narrowed(SERVICE_USERS, "nobody", without=())


def test_a_server_names_its_users_and_hides_their_passwords() -> None:
    server = NatsServer(Path("/nonexistent"), harness=False)  # never started
    assert [user.name for user in server.users] == [user.name for user in SERVICE_USERS]
    assert server.url == server.address == f"nats://127.0.0.1:{server.port}"
    with pytest.raises(KeyError):
        server.credentials(HARNESS)
    user, password = server.credentials("proxy")
    assert server.url_for("proxy") == f"nats://{user}:{password}@127.0.0.1:{server.port}"
    assert password not in repr(server)


@pytest.mark.integration  # starts its own nats-server
async def test_a_narrowed_server_refuses_the_taken_right_and_writes_its_config_0600(tmp_path: Path) -> None:
    users = narrowed(SERVICE_USERS, "proxy", without=("$JS.API.STREAM.INFO.TG_GRANTS",))
    with NatsServer(tmp_path / "nats", service_users=users) as server:
        assert _mode(server.config_path) == 0o600 and _mode(server.workdir) == 0o700
        user, password = server.credentials("proxy")
        assert f'"{password}"' in server.config_path.read_text()
        errors: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            errors.append(exc)

        nc = await nats.connect(server.url_for("proxy"), inbox_prefix=b"_INBOX.proxy", error_cb=on_error)
        try:
            assert service_user(user).may_publish("$JS.API.STREAM.INFO.TG_GRANTS")  # deployed, it may
            with pytest.raises(NatsError):
                await nc.request("$JS.API.STREAM.INFO.TG_GRANTS", b"", timeout=0.5)
            await eventually(lambda: any("permissions violation" in str(e) for e in errors), what="the refusal")
        finally:
            await nc.close()
