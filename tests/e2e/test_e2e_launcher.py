"""`tollgate-dev` keeps the stack up: a killed service comes back by itself, and the stack still serves; a
service that cannot start any more stops the launcher with a message naming it and a non-zero exit code."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tollgate_devstack.instructions import END_LINE
from tollgate_devstack.testing import Cli, DevRun, eventually_sync, find_secrets
from tollgate_servicekit.tcp import port_is_free

pytestmark = pytest.mark.e2e


def pids(dev: DevRun) -> dict[str, int]:
    described: dict[str, Any] = json.loads((dev.home / "stack.json").read_text())
    return {name: int(pid) for name, pid in described["pids"].items()}


def readyz(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/readyz", timeout=2.0).status_code
    except httpx.HTTPError:
        return None


def secrets_of(dev: DevRun) -> dict[str, str]:
    return {
        "admin key": (dev.home / "admin-key").read_text().strip(),
        "provider key": (dev.home / "mock-provider-key").read_text().strip(),
    }


def test_a_killed_service_is_restarted_and_the_stack_serves_again(tmp_path: Path) -> None:
    with DevRun.start(tmp_path) as dev:
        dev.wait_for_line(END_LINE, timeout=180)
        killed = pids(dev)["metering"]
        os.kill(killed, signal.SIGKILL)

        eventually_sync(lambda: "metering is ready again" in dev.stderr(), timeout=60, what="metering back")
        assert "metering was killed by SIGKILL; restarting it in 0.5s" in dev.stderr()
        assert readyz(dev.url("metering")) == 200
        assert readyz(dev.url("proxy")) == 200
        restarted = pids(dev)["metering"]
        assert restarted != killed  # stack.json follows the new process (rewritten at the restart)
        os.kill(restarted, 0)  # and it is alive

        # The stack serves, and the new metering counts what the proxy records.
        cli = Cli(cwd=tmp_path, extra_env=dev.cli_env())
        grant = cli.json("grant", "create", "--provider", "openai", "--model", "gpt-4o-mini")
        token = cli.json("token", "mint", grant["id"])["access_token"]
        with openai.OpenAI(base_url=f"{dev.url('proxy')}/v1", api_key=token, max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert cli.usage_once(grant["id"])["requests"] == 1

        assert dev.interrupt() == 0, dev.report()
        assert find_secrets({"tollgate-dev stderr": dev.stderr()}, secrets_of(dev) | {"token": token}) == []


def test_a_service_that_crashes_at_once_every_time_stops_the_launcher_with_a_clear_message(tmp_path: Path) -> None:
    with DevRun.start(tmp_path) as dev:
        dev.wait_for_line(END_LINE, timeout=180)
        secrets = secrets_of(dev)
        # A corrupt key file: keyvault refuses to start with it, at once, every time.
        (dev.home / "kek").write_text("k1 this-is-not-a-key\n")
        os.kill(pids(dev)["keyvault"], signal.SIGKILL)

        code = dev.process.wait(timeout=120)
        stderr = dev.stderr()
        assert code == 1, dev.report()
        assert "keyvault was killed by SIGKILL; restarting it in 0.5s" in stderr
        assert "keyvault exited with code" in stderr
        assert "keyvault keeps crashing (5 times within 60s" in stderr
        assert "stopping the stack" in stderr
        assert "kek" in stderr.split("keeps crashing", 1)[1]  # the tail of its log says what is wrong
        assert find_secrets({"tollgate-dev stderr": stderr}, secrets) == []
        assert [port for _, port in dev.ports.items() if not port_is_free(port)] == []
        assert not (dev.home / "stack.json").exists()


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("how", ["tollgate-dev", "make run"])
def test_ctrl_c_while_the_launcher_is_still_loading_ends_quietly(tmp_path: Path, how: str) -> None:
    """The first line is printed before the stack's modules load (~0.5 s): a Ctrl-C then is a clean stop too,
    not a KeyboardInterrupt traceback that makes GNU make report "Interrupt"."""
    if how == "make run" and shutil.which("make") is None:
        pytest.skip("no make on this machine")
    # `-o sync`: the venv is in place already, and only the shared lock may change it.
    argv = ["make", "--no-print-directory", "-o", "sync", "run"] if how == "make run" else None
    with DevRun.start(tmp_path, argv=argv, run_in=REPO if argv else None) as dev:
        eventually_sync(lambda: "starting nats-server" in dev.stderr(), timeout=60, what="the first line")
        dev.interrupt()
        output = dev.text() + dev.stderr()
        assert "stopped on SIGINT" in output, dev.report()
        assert "Traceback" not in output
        assert "make: ***" not in output  # GNU make's "[Makefile:…: run] Interrupt"
        if how == "tollgate-dev":
            assert dev.process.returncode == 0
        # make itself also got the Ctrl-C and ends by it (a shell shows 130): that is make's, not ours to change.
        assert [port for _, port in dev.ports.items() if not port_is_free(port)] == []
