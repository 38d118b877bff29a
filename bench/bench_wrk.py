"""One load point with wrk: a Lua script sets the POST body and the key, and reports exact percentiles as JSON.

The script file holds a credential, so it is written 0600 inside the run's private temp dir and never printed.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "WRK_JSON "

CHAT_BODY = json.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a benchmark."},
            {"role": "user", "content": "Say hello to the benchmark, please."},
        ],
    },
    separators=(",", ":"),
)

_DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
"""


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def write_script(path: Path, body: str, key: str) -> Path:
    """A wrk script that POSTs `body` as JSON with `Authorization: Bearer <key>`."""
    text = (
        'wrk.method = "POST"\n'
        f"wrk.body = {_lua_string(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer " .. {_lua_string(key)}\n' + _DONE
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


@dataclass(frozen=True)
class Measurement:
    target: str
    connections: int
    seconds: float
    requests: int
    errors: int
    """Connect, read, write and timeout errors plus non-2xx answers."""
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    mean_ms: float
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds each server-side process used during the point."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    wrk: str, script: Path, url: str, *, target: str, connections: int, seconds: float, threads: int = 1
) -> Measurement:
    argv = [
        wrk,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARKER)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {done.returncode}): {done.stderr.strip()[:500]}")
    data = json.loads(line[len(MARKER) :])
    errors = sum(int(data[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return Measurement(
        target=target,
        connections=connections,
        seconds=data["duration_us"] / 1e6,
        requests=int(data["requests"]),
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        p999_ms=data["p999_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
    )
