"""`tollgate-dev` (what `make run` runs): the embedded stack on fixed ports, until Ctrl-C.

Starts nats-server, the four services on SQLite under `.tollgate/` and the
mock provider, registers the mock on keyvault before the proxy starts, and
prints what to paste for a first call once the proxy can serve it. A process
that dies afterwards is restarted with back-off (see `supervise`); the stack
stops cleanly on SIGINT or SIGTERM (exit code 0), or, with exit code 1 and a
message naming it, when one process keeps crashing.
The environment variables it reads are listed in ENVIRONMENT (its --help).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

# Light modules only up here: the stack's own (httpx and the contracts, ~0.5 s) load after the signal handlers,
# so a Ctrl-C while they load is a quiet stop, not a KeyboardInterrupt traceback (and make's "Interrupt").
from tollgate_devstack.instructions import Where, display_path, first_call
from tollgate_devstack.layout import DEFAULT_HOME, HOME_ENV_VAR, PORT_ENV_VARS, StackPorts

if TYPE_CHECKING:
    from tollgate_devstack.stack import Stack

logger = logging.getLogger("tollgate-dev")

ENVIRONMENT = """environment (all optional; the port overrides let a second stack or a test run beside `make run`):
  TOLLGATE_DEV_HOME                stack directory (default .tollgate in the current directory)
  TOLLGATE_DEV_PROXY_PORT          8080    TOLLGATE_DEV_AUTH_PORT       8081
  TOLLGATE_DEV_METERING_PORT       8082    TOLLGATE_DEV_KEYVAULT_PORT   8083
  TOLLGATE_DEV_MOCK_PORT           8090    TOLLGATE_DEV_NATS_PORT       4333
  TOLLGATE_DEV_NATS_MONITOR_PORT   8333    TOLLGATE_DEV_LOG_LEVEL       INFO (the services' log level)
"""


class Shutdown(BaseException):
    """Raised by the SIGINT/SIGTERM handler to unwind start-up or the wait loop; a BaseException, so nothing
    on the way swallows it."""


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # Only the first signal unwinds; later ones (a second Ctrl-C while stopping) must not interrupt the stop.
    _ignore_signals()
    raise Shutdown(signal.Signals(signum).name)


def _where(home: Path, cwd: Path) -> Where:
    bin_dir = Path(sys.executable).parent
    return Where(
        home=display_path(home, cwd),
        cli=display_path(bin_dir / "tollgate", cwd),
        python=display_path(bin_dir / "python", cwd),
        home_is_default=home.absolute() == (cwd / DEFAULT_HOME).absolute(),
    )


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def run(stack: Stack, where: Where) -> int:
    """Start, print the instructions, keep the processes up until a signal; the exit code."""
    from tollgate_devstack.process import StackError
    from tollgate_devstack.supervise import Supervisor

    try:
        try:
            stack.start()
            _write(first_call(where, stack.service_urls(), stack.nats_url))
            Supervisor.for_stack(stack).run()
        except StackError as exc:
            _ignore_signals()
            logger.error("%s", exc)  # first, so the reason is not buried under the stop
            return 1
        finally:
            _ignore_signals()  # a Ctrl-C now must not cut the stop short
            logger.info("stopping")
            stack.stop()
    except Shutdown as signal_name:
        logger.info("stopped on %s", signal_name)
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tollgate-dev",
        description="Run the embedded Tollgate stack (NATS, four services on SQLite, a mock provider) until Ctrl-C.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="tollgate-dev: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    cwd = Path.cwd()
    home = Path(os.environ.get(HOME_ENV_VAR) or DEFAULT_HOME)
    try:
        ports = StackPorts().with_env_overrides(os.environ)
    except ValueError as exc:
        logger.error("%s", exc)
        return 2
    where = _where(home, cwd)
    logger.info("starting nats-server, auth, keyvault, metering, proxy and the mock provider in %s/", where.home)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        return _check_and_run(home, ports, where)
    except Shutdown as signal_name:  # before the stack started: nothing to stop
        logger.info("stopped on %s", signal_name)
        return 0


def _check_and_run(home: Path, ports: StackPorts, where: Where) -> int:
    from tollgate_devstack.stack import Stack, busy_ports

    taken = busy_ports(ports)
    if taken:
        for name, port in taken:
            logger.error(
                "port %d (%s) is already in use: is another `make run` running? Stop it, or set %s to another port.",
                port,
                name,
                PORT_ENV_VARS[name],
            )
        return 1
    level = os.environ.get("TOLLGATE_DEV_LOG_LEVEL", "INFO")
    return run(Stack(home, ports=ports, log_level=level), where)


if __name__ == "__main__":
    sys.exit(main())
