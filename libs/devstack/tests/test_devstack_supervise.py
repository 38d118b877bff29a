"""The launcher's supervisor: a dead process is restarted with doubling back-off and its cause logged (secrets
masked); one that keeps crashing stops the stack with a message naming it. Real child processes, a test clock."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tollgate_devstack.process import ChildProcess, stop_all
from tollgate_devstack.supervise import GaveUp, RestartPolicy, Supervisor, WatchedNats
from tollgate_devstack.testing import eventually_sync
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.tcp import port_is_open


class Clock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def python_child(tmp_path: Path, name: str, code: str) -> ChildProcess:
    return ChildProcess(name=name, argv=[sys.executable, "-c", code], env=dict(os.environ), log_path=tmp_path / name)


def exited(child: ChildProcess) -> int:
    eventually_sync(lambda: child.exit_code() is not None, what=f"{child.name} to exit")
    code = child.exit_code()
    assert code is not None
    return code


def up(child: ChildProcess, marker: str = "up") -> None:
    eventually_sync(lambda: marker in child.log_path.read_text(), what=f"{child.name} to print {marker!r}")


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


def test_a_service_that_crashes_at_once_every_time_is_given_up_after_doubling_back_off(
    tmp_path: Path, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tollgate-dev")
    clock = Clock()
    child = python_child(tmp_path, "metering", "import sys; print('cannot open the database'); sys.exit(3)")
    child.start()
    supervisor = Supervisor([child], clock=clock)

    for restarts, delay in enumerate([0.5, 1.0, 2.0, 4.0]):
        exited(child)
        supervisor.check(client)  # the crash is noted now; the restart waits `delay`
        crashed_at = clock.now
        assert f"metering exited with code 3; restarting it in {delay:.1f}s" in caplog.text
        clock.now = crashed_at + delay - 0.01
        supervisor.check(client)
        assert supervisor.restarts["metering"] == restarts
        clock.now = crashed_at + delay
        supervisor.check(client)
        assert supervisor.restarts["metering"] == restarts + 1

    exited(child)
    with pytest.raises(GaveUp) as caught:
        supervisor.check(client)
    message = str(caught.value)
    assert message.startswith("metering keeps crashing (5 times within 60s, the last time it exited with code 3)")
    assert "stopping the stack" in message
    assert message.count("cannot open the database") == 1  # this run's output, not every run's


def test_a_killed_service_is_restarted_and_a_long_run_starts_the_back_off_over(
    tmp_path: Path, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tollgate-dev")
    clock = Clock()
    child = python_child(tmp_path, "keyvault", "import time; print('up', flush=True); time.sleep(60)")
    child.start()
    supervisor = Supervisor([child], policy=RestartPolicy(max_crashes=2), clock=clock)
    try:
        for _ in range(3):  # with max_crashes=2, only a back-off that starts over gets this far
            up(child)
            assert child.process is not None
            os.kill(child.process.pid, signal.SIGKILL)
            exited(child)
            supervisor.check(client)
            assert "keyvault was killed by SIGKILL; restarting it in 0.5s" in caplog.text
            clock.now += 0.5
            supervisor.check(client)
            supervisor.check(client)  # no ready URL: ready as soon as it runs
            assert "keyvault is ready again" in caplog.text
            caplog.clear()
            clock.now += 61  # up for a minute: the next death is a new incident, outside the window
        assert supervisor.restarts["keyvault"] == 3
    finally:
        stop_all([child], timeout=5)


def test_the_log_tail_of_a_dead_service_masks_the_stack_secrets_and_url_credentials(
    tmp_path: Path, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tollgate-dev")
    secret = "sk-mock-0123456789abcdef"
    code = f"print('key {secret}'); print('bus nats://tollgate-proxy:pw0rd@127.0.0.1:4222 lost'); raise SystemExit(1)"
    child = python_child(tmp_path, "proxy", code)
    child.start()
    exited(child)
    Supervisor([child], hide=lambda: [secret], clock=Clock()).check(client)
    assert "proxy exited with code 1" in caplog.text
    assert "key [redacted]" in caplog.text
    assert "nats://***@127.0.0.1:4222" in caplog.text
    assert secret not in caplog.text
    assert "pw0rd" not in caplog.text


@pytest.mark.integration
def test_a_killed_nats_server_is_started_again_on_its_port(tmp_path: Path, client: httpx.Client) -> None:
    clock = Clock()
    with NatsServer(tmp_path / "nats", own_process_group=True) as nats:
        supervisor = Supervisor([WatchedNats(nats, tmp_path / "nats" / "nats.log")], clock=clock)
        process = nats.process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        eventually_sync(lambda: process.poll() is not None, what="nats-server to die")
        assert process.returncode == -signal.SIGKILL
        supervisor.check(client)
        assert supervisor.restarts["nats-server"] == 0
        clock.now += 0.5
        supervisor.check(client)
        assert supervisor.restarts["nats-server"] == 1
        assert port_is_open(nats.port)
