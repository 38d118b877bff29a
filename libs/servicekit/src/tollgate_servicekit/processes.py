"""Child processes that a launcher stops in its own order: a process group of their own, dying with their parent.

A terminal's Ctrl-C goes to its foreground process group; a child in a group of its own is not hit by it, so
only the launcher receives it and stops its children in order (the services before the bus). On Linux each child
also asks the kernel for SIGTERM when its parent dies (`PR_SET_PDEATHSIG`), so a killed launcher leaves no
orphan holding a port.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """A `preexec_fn`: ask Linux to send this process SIGTERM when its parent dies (nothing elsewhere).

    It runs in the child between fork and exec, so it does only async-signal-safe work."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def spawn(
    argv: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own process group, dying with its parent; stdout and stderr appended to `log_path`
    (created 0600: a child may log what the operator only should read)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
            # preexec_fn is unsafe only with threads forking concurrently; launchers spawn from one thread.
            preexec_fn=die_with_parent,
        )
