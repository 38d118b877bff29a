"""The whole system as local processes: nats-server, auth, keyvault, metering, proxy and the mock provider.

    with Stack(tmp_path / "stack") as stack:          # free ports, SQLite files
        stack.auth_url, stack.proxy_url, stack.admin_key

`start()` brings up the bus, then auth (which ensures the streams) beside the
mock provider, then keyvault and metering; it registers the mock provider on
keyvault, writes `stack.json` and starts the proxy last, waiting for each
`/readyz` (the proxy's is 200 once its cache holds the credentials too).
`stop()` sends SIGTERM to every service, SIGKILL to any still running after
the grace period, then stops the bus; every port is free afterwards.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tollgate_devstack.bootstrap import Bootstrap, bootstrap
from tollgate_devstack.layout import StackPaths, StackPorts
from tollgate_devstack.process import ChildProcess, StackError, stop_all
from tollgate_devstack.secretfiles import nats_password, new_admin_key, new_mock_key, read_or_create_secret
from tollgate_devstack.services import SERVICES, Database, base_env, mock_env, script, service_env
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.tcp import port_is_free

logger = logging.getLogger(__name__)

STACK_JSON_VERSION = 1


def busy_ports(ports: StackPorts) -> list[tuple[str, int]]:
    """The (name, port) pairs that something already holds."""
    return [(name, port) for name, port in ports.items() if not port_is_free(port)]


class Stack:
    """One running Tollgate system. Use as a context manager, or call start() and stop()."""

    def __init__(
        self,
        home: Path,
        *,
        ports: StackPorts | None = None,
        database: Database | None = None,
        log_level: str = "INFO",
        access_log: bool = False,
        ready_timeout: float = 90.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.paths = StackPaths(home.absolute())
        self.ports = ports if ports is not None else StackPorts.free()
        self.database = database if database is not None else Database()
        self.log_level = log_level
        self.access_log = access_log
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.nats: NatsServer | None = None
        self.children: list[ChildProcess] = []
        self.bootstrap: Bootstrap | None = None

    # --- where things are -------------------------------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self.paths.home

    def _url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"

    @property
    def proxy_url(self) -> str:
        return self._url(self.ports.proxy)

    @property
    def auth_url(self) -> str:
        return self._url(self.ports.auth)

    @property
    def metering_url(self) -> str:
        return self._url(self.ports.metering)

    @property
    def keyvault_url(self) -> str:
        return self._url(self.ports.keyvault)

    @property
    def mock_url(self) -> str:
        return self._url(self.ports.mock)

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports.nats}"

    @property
    def admin_key(self) -> str:
        """The admin key (read from its file; never print or log it)."""
        return self.paths.admin_key.read_text().strip()

    @property
    def mock_key(self) -> str:
        """The key the mock provider accepts (read from its file; never print or log it)."""
        return self.paths.mock_key.read_text().strip()

    @property
    def tenant_id(self) -> str:
        if self.bootstrap is None:
            raise StackError("the stack is not bootstrapped")
        return self.bootstrap.tenant_id

    def log_files(self) -> list[Path]:
        """Every log file this stack has written."""
        return sorted(self.paths.logs.glob("*.log"))

    def service_urls(self) -> dict[str, str]:
        return {
            "proxy": self.proxy_url,
            "auth": self.auth_url,
            "metering": self.metering_url,
            "keyvault": self.keyvault_url,
            "mock": self.mock_url,
        }

    # --- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> Stack:
        """Start every process, wait until all are ready, bootstrap; on any failure stop what started and raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        taken = busy_ports(self.ports)
        if taken:
            listed = ", ".join(f"{port} ({name})" for name, port in taken)
            raise StackError(f"port already in use: {listed}")
        for directory in (self.paths.home, self.paths.logs, self.paths.data):
            # Owner only, an existing directory too: the stack's keys and databases live in here.
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.chmod(0o700)
        read_or_create_secret(self.paths.admin_key, new_admin_key)
        mock_key = read_or_create_secret(self.paths.mock_key, new_mock_key)

        # The bus is locked like the deployed one: one user per service (tollgate_contracts.permissions), each
        # with a generated password kept in a 0600 file; no anonymous access and no test-harness user.
        self.nats = NatsServer(
            self.paths.nats,
            port=self.ports.nats,
            monitor_port=self.ports.nats_monitor,
            log_path=self.paths.log("nats"),
            own_process_group=True,
            harness=False,
            passwords=dict(self.nats_credentials(name) for name in SERVICES),
        )
        try:
            self.nats.start()
        except (TimeoutError, OSError) as exc:
            raise StackError(f"nats-server could not be started: {exc}") from exc

        env = base_env(os.environ)
        services = {name: self._service(name, env) for name in ("auth", "keyvault", "metering", "proxy")}
        mock = self._child(
            "mock",
            script("tollgate-mock-provider"),
            env | mock_env(ports=self.ports, api_key=mock_key, log_level=self.log_level, access_log=self.access_log),
            self.ports.mock,
        )
        with httpx.Client() as client:
            # auth ensures the streams the others consume, so it goes first.
            self._launch(client, [services["auth"], mock])
            self._launch(client, [services["keyvault"], services["metering"]])
            # Ready means ready: the credentials are on the bus before the proxy starts following it, and the
            # proxy's /readyz is 200 only once it has replayed every state stream, so the first call succeeds.
            self.bootstrap = bootstrap(
                admin_key=self.admin_key,
                auth_url=self.auth_url,
                keyvault_url=self.keyvault_url,
                mock_url=self.mock_url,
                mock_key=mock_key,
            )
            self._write_stack_json()  # a script's CLI finds the stack as soon as the proxy answers
            self._launch(client, [services["proxy"]])
        self._write_stack_json()  # again, with the proxy's pid
        logger.info("stack ready in %s", self.home)

    def _service(self, name: str, env: dict[str, str]) -> ChildProcess:
        settings = service_env(
            name,
            ports=self.ports,
            paths=self.paths,
            database=self.database,
            log_level=self.log_level,
            access_log=self.access_log,
            nats_password=self.nats_credentials(name)[1],
        )
        return self._child(name, script(f"tollgate-{name}"), env | settings, getattr(self.ports, name))

    def nats_credentials(self, service: str) -> tuple[str, str]:
        """(user, password) of a service's NATS user, from its 0600 file (made on first use, kept afterwards)."""
        if service not in SERVICES:
            raise KeyError(f"no NATS user for {service!r}")
        return service, nats_password(self.paths.nats_password(service))

    def nats_url_for(self, service: str) -> str:
        """The bus URL with a service's credentials in it, for a test acting as that service (never log it)."""
        user, password = self.nats_credentials(service)
        return f"nats://{user}:{password}@127.0.0.1:{self.ports.nats}"

    def _child(self, name: str, argv0: str, env: dict[str, str], port: int) -> ChildProcess:
        return ChildProcess(
            name=name,
            argv=[argv0],
            env=env,
            log_path=self.paths.log(name),
            ready_url=f"{self._url(port)}/readyz",
            cwd=self.home,
        )

    def _launch(self, client: httpx.Client, children: list[ChildProcess]) -> None:
        for child in children:
            self.children.append(child)
            child.start()
        for child in children:
            child.wait_ready(self.ready_timeout, client)

    def check_alive(self) -> None:
        """StackError naming the first process that has exited (with its log tail), if any has."""
        for child in self.children:
            code = child.exit_code()
            if code is not None:
                raise child.failure(f"exited unexpectedly with code {code}")
        if self.nats is not None and self.nats.process is not None:
            code = self.nats.process.poll()
            if code is not None:
                raise StackError(f"nats-server exited unexpectedly with code {code}; see {self.paths.log('nats')}")

    def stop(self) -> None:
        """Stop every service (SIGTERM, then SIGKILL after `stop_timeout`), then the bus. Safe to call twice."""
        # The proxy first, so nothing new comes in while the others drain; the bus last, so they can ack.
        stop_all(list(reversed(self.children)), self.stop_timeout)
        self.children = []
        if self.nats is not None:
            self.nats.stop(self.stop_timeout)
            self.nats = None
        self.paths.stack_json.unlink(missing_ok=True)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- stack.json -------------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What `stack.json` holds: where everything is, and no secret."""
        pids = {child.name: child.pid for child in self.children}
        if self.nats is not None and self.nats.process is not None:
            pids["nats"] = self.nats.process.pid
        return {
            "version": STACK_JSON_VERSION,
            "home": str(self.home),
            "started_at": datetime.now(UTC).isoformat(),
            "proxy_url": self.proxy_url,
            "auth_url": self.auth_url,
            "metering_url": self.metering_url,
            "keyvault_url": self.keyvault_url,
            "mock_url": self.mock_url,
            "nats_url": self.nats_url,
            "nats_monitor_url": self._url(self.ports.nats_monitor),
            "admin_key_file": str(self.paths.admin_key),
            "nats_password_files": {name: str(self.paths.nats_password(name)) for name in SERVICES},
            "database": self.database.kind,
            "tenant_id": self.bootstrap.tenant_id if self.bootstrap else None,
            "mock_credentials": dict(self.bootstrap.credentials) if self.bootstrap else {},
            "pids": pids,
            "logs": {path.stem: str(path) for path in self.log_files()},
        }

    def write_stack_json(self) -> None:
        """Write `stack.json` again, e.g. after the launcher restarted a process (its pid changed)."""
        self._write_stack_json()

    def _write_stack_json(self) -> None:
        tmp = self.paths.stack_json.with_suffix(".json.tmp")
        # No secret in it, but owner-only like everything in the stack dir: one rule, easy to check.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(self.describe(), indent=2) + "\n")
        tmp.replace(self.paths.stack_json)
