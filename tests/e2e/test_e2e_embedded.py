"""`tollgate-dev` (what `make run` runs), as an operator uses it: start, paste the printed snippets, Ctrl-C.

Runs on SQLite in a temporary directory, on free ports given through the
`TOLLGATE_DEV_*_PORT` overrides, so it never collides with a running `make run`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tollgate_devstack.instructions import END_LINE, sections
from tollgate_devstack.layout import PORT_ENV_VARS, StackPorts
from tollgate_devstack.services import base_env, script
from tollgate_devstack.testing import Cli, DevRun, find_secrets, read_texts
from tollgate_servicekit.tcp import port_is_free

pytestmark = pytest.mark.e2e


def run_snippet(section: str, cwd: Path) -> str:
    """Run a printed section as the operator would paste it into bash; its stdout."""
    done = subprocess.run(
        [
            "bash",
            "-euo",
            "pipefail",
            "-c",
            section + 'echo "GRANT_ID=${GRANT:-${GRANT_A:-}}"\necho "TOKEN=${TOKEN:-${TOKEN_A:-}}"\n',
        ],
        cwd=cwd,
        env=base_env(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (
        f"the printed snippet failed:\n{section}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    return done.stdout


def dev_env(ports: StackPorts) -> dict[str, str]:
    return base_env(os.environ) | {PORT_ENV_VARS[name]: str(port) for name, port in ports.items()}


@pytest.fixture
def running(tmp_path: Path) -> Iterator[DevRun]:
    with DevRun.start(tmp_path) as dev:
        yield dev


def test_make_run_prints_first_calls_that_work_and_ctrl_c_stops_everything(running: DevRun, tmp_path: Path) -> None:
    ports = running.ports
    output = running.wait_for_line(END_LINE, timeout=180)
    home = tmp_path / ".tollgate"
    assert f"http://127.0.0.1:{ports.proxy}/v1" in output
    for secret in (home / "admin-key", home / "mock-provider-key"):
        assert secret.read_text().strip() not in output

    cli = Cli(cwd=tmp_path)  # no TOLLGATE_HOME: the CLI finds .tollgate/ in its directory
    secrets = {
        "admin key": (home / "admin-key").read_text().strip(),
        "provider key": (home / "mock-provider-key").read_text().strip(),
    }
    for provider, section in sections(output).items():
        printed = run_snippet(section, tmp_path)
        assert "Hello from the Tollgate mock provider." in printed, printed
        match = re.search(r"^GRANT_ID=(grt_\w+)$", printed, re.MULTILINE)
        token = re.search(r"^TOKEN=(\S+)$", printed, re.MULTILINE)
        assert match, printed
        assert token, printed
        secrets[f"{provider} token"] = token.group(1)
        grant_id = match.group(1)
        assert cli.json("grant", "show", grant_id)["provider"] == provider
        usage = cli.usage_once(grant_id)
        assert usage["requests"] == 1
        assert usage["input_tokens"] > 0

    assert running.interrupt() == 0, running.report()
    logs = read_texts([*(home / "logs").glob("*.log"), running.stderr_path])
    assert len(logs) == 7  # six processes and tollgate-dev itself
    assert find_secrets(logs | {"tollgate-dev stdout": running.text()}, secrets) == []
    assert [port for _, port in ports.items() if not port_is_free(port)] == []
    assert not (home / "stack.json").exists()
    assert {p.name for p in (home / "data").glob("*.db")} == {"auth.db", "keyvault.db", "metering.db"}


def test_make_run_refuses_at_once_when_a_port_is_taken(tmp_path: Path) -> None:
    ports = StackPorts.free()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports.auth))
        holder.listen()
        done = subprocess.run(
            [script("tollgate-dev")], cwd=tmp_path, env=dev_env(ports), capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert f"port {ports.auth} (auth) is already in use" in done.stderr
    assert "TOLLGATE_DEV_AUTH_PORT" in done.stderr
    assert not (tmp_path / ".tollgate").exists()
