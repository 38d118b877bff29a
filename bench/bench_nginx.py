"""An nginx `proxy_pass` hop in front of an upstream: generated config in a temp dir, foreground, stopped by us."""

from __future__ import annotations

from pathlib import Path

from bench_procs import Child, free_port, wait_http_ok

WORKER_PROCESSES = 1
UPSTREAM_KEEPALIVE = 64


def nginx_config(workdir: Path, port: int, upstream_port: int) -> str:
    return f"""
daemon off;
master_process on;
worker_processes {WORKER_PROCESSES};
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy_temp;
    upstream provider {{
        server 127.0.0.1:{upstream_port};
        keepalive {UPSTREAM_KEEPALIVE};
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""


def start_nginx(nginx: str, workdir: Path, upstream_port: int) -> tuple[Child, str]:
    """nginx in front of 127.0.0.1:`upstream_port`; returns the process and its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "nginx.conf"
    config.write_text(nginx_config(workdir, port, upstream_port))
    argv = [nginx, "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(config)]
    child = Child("nginx", argv, workdir / "nginx.out")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ok(f"{url}/healthz", child, timeout=15)
    except BaseException:
        child.stop()
        raise
    return child, url
