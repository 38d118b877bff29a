"""CPU time the server-side processes spend per request, read from /proc: steadier than req/s on a shared box.

Throughput moves with whatever else the machine runs; the CPU a process burns per request mostly does not,
so the report gives both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; everything after its closing parenthesis is space-separated.
    return text[text.rindex(")") + 2 :].split()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[1] == str(pid):
                found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of `pid` and its live children (nginx's workers), in seconds."""
    total = 0.0
    for one in (pid, *_children(pid)):
        fields = _stat_fields(one)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return total


class CpuMeter:
    """Snapshots the CPU of named processes; `since()` gives each one's CPU used since the last `start()`."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._start: dict[str, float] = {}

    def start(self) -> None:
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def since(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) - self._start.get(name, 0.0) for name, pid in self.pids.items()}

    def wait_idle(self, names: tuple[str, ...], timeout: float = 20.0, interval: float = 0.5) -> float:
        """Wait (bounded) until the named processes use under 5% of a core, e.g. metering draining the usage
        the proxy point left behind, so it does not run into the next point. Returns the seconds waited."""
        watched = {name: pid for name, pid in self.pids.items() if name in names}
        began = time.monotonic()
        if not watched:
            return 0.0
        before = sum(cpu_seconds(pid) for pid in watched.values())
        while time.monotonic() - began < timeout:
            time.sleep(interval)
            now = sum(cpu_seconds(pid) for pid in watched.values())
            if now - before < 0.05 * interval:
                break
            before = now
        return time.monotonic() - began
