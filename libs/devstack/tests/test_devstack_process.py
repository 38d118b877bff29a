"""Child processes: a child that dies or never gets ready is reported by name with its log; stop is bounded."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from tollgate_devstack.process import ChildProcess, StackError, stop_all
from tollgate_servicekit.tcp import free_port


def python_child(tmp_path: Path, name: str, code: str, ready_url: str | None = None) -> ChildProcess:
    return ChildProcess(
        name=name,
        argv=[sys.executable, "-c", code],
        env=dict(os.environ),
        log_path=tmp_path / f"{name}.log",
        ready_url=ready_url,
    )


def test_a_child_that_dies_before_ready_is_named_with_the_tail_of_its_log(tmp_path: Path) -> None:
    child = python_child(tmp_path, "auth", "import sys; print('cannot open the database'); sys.exit(3)", "http://x")
    child.start()
    with httpx.Client() as client, pytest.raises(StackError) as caught:
        child.wait_ready(30, client)
    message = str(caught.value)
    assert message.startswith("auth exited with code 3")
    assert "cannot open the database" in message
    assert str(tmp_path / "auth.log") in message


def test_a_child_that_never_gets_ready_is_named_when_time_runs_out(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/readyz"
    code = "import time; print('waiting for the bus', flush=True); time.sleep(60)"
    child = python_child(tmp_path, "metering", code, url)
    child.start()
    try:
        with httpx.Client() as client, pytest.raises(StackError) as caught:
            child.wait_ready(0.3, client)
        assert "metering was not ready within" in str(caught.value)
        assert url in str(caught.value)
    finally:
        stop_all([child], timeout=5)


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    child = python_child(tmp_path, "stubborn", code)
    child.start()
    while "up" not in (tmp_path / "stubborn.log").read_text():
        time.sleep(0.01)
    process = child.process
    assert process is not None
    stop_all([child], timeout=0.2)
    assert process.returncode is not None
    assert child.process is None


def test_children_run_in_their_own_process_group(tmp_path: Path) -> None:
    child = python_child(tmp_path, "grouped", "import time; time.sleep(60)")
    child.start()
    try:
        assert child.pid is not None
        assert os.getpgid(child.pid) == child.pid
        assert os.getpgid(child.pid) != os.getpgid(0)
    finally:
        stop_all([child], timeout=5)
