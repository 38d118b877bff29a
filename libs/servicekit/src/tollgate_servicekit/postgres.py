"""Find a real PostgreSQL for tests: the environment's, the local server's, a throwaway cluster, or a container.

The order: `TOLLGATE_TEST_DATABASE_URL`; a server on 127.0.0.1:5432; a private
cluster made with the system's `initdb`/`pg_ctl`; a testcontainers container
where a Docker engine answers. When none can be had, say so plainly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tollgate_servicekit.tcp import free_port, port_is_open

ENV_VAR = "TOLLGATE_TEST_DATABASE_URL"
LOCAL_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class NoPostgres(RuntimeError):
    """No PostgreSQL could be found or started."""


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


@contextlib.contextmanager
def _throwaway_cluster() -> Iterator[str]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise NoPostgres("initdb/pg_ctl not found")
    root = Path(tempfile.mkdtemp(prefix="tollgate-pg-"))
    data, sock, port = root / "data", root / "sock", free_port()
    sock.mkdir()
    # PostgreSQL refuses to run as root: run it as the `postgres` user when we are root.
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1",
            "-l",
            str(root / "pg.log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [
                *as_user,
                _pg_bin("createdb") or "createdb",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "test",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _container() -> Iterator[str]:
    try:
        import docker
        from testcontainers.postgres import PostgresContainer
    except ImportError as exc:
        raise NoPostgres("testcontainers is not installed") from exc
    try:
        docker.from_env(timeout=2).ping()
    except Exception as exc:  # docker raises many kinds; all mean "no engine here"
        raise NoPostgres(f"no Docker engine: {exc}") from exc
    with PostgresContainer("postgres:16-alpine", driver="asyncpg") as pg:
        yield pg.get_connection_url()


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    """Yield an asyncpg SQLAlchemy URL of a real PostgreSQL, or raise NoPostgres saying what was tried."""
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        yield from_env
        return
    if port_is_open(5432):
        yield LOCAL_URL
        return
    tried = [f"${ENV_VAR} unset", "nothing on 127.0.0.1:5432"]
    for attempt in (_throwaway_cluster, _container):
        try:
            with attempt() as url:
                yield url
                return
        except NoPostgres as exc:
            tried.append(str(exc))
        except subprocess.CalledProcessError as exc:
            tried.append(f"{exc.cmd[0]} failed: {exc.stderr!r}")
    raise NoPostgres("no PostgreSQL for the tests; tried: " + "; ".join(tried))
