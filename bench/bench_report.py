"""Summarise the rounds of each point and write them as Markdown (RESULTS.md) and JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_wrk import CHAT_BODY, Measurement

TARGETS = {
    "direct": "mock provider, direct",
    "nginx": "nginx proxy_pass → mock",
    "proxy": "Tollgate proxy → mock",
}


@dataclass(frozen=True)
class Point:
    """The median over rounds of one (target, connections) point."""

    target: str
    connections: int
    rounds: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_us: dict[str, float]
    """Median CPU microseconds per request, by process."""


PROCESS_ORDER = ("proxy", "mock", "nginx", "metering", "nats", "auth", "keyvault")


def summarise(measurements: list[Measurement]) -> list[Point]:
    keys = sorted({(m.target, m.connections) for m in measurements}, key=lambda k: (list(TARGETS).index(k[0]), k[1]))
    points = []
    for target, connections in keys:
        runs = [m for m in measurements if m.target == target and m.connections == connections]
        points.append(
            Point(
                target=target,
                connections=connections,
                rounds=len(runs),
                rps=statistics.median(m.rps for m in runs),
                p50_ms=statistics.median(m.p50_ms for m in runs),
                p99_ms=statistics.median(m.p99_ms for m in runs),
                requests=sum(m.requests for m in runs),
                errors=sum(m.errors for m in runs),
                cpu_us={
                    name: statistics.median(m.cpu_s.get(name, 0.0) / max(m.requests, 1) * 1e6 for m in runs)
                    for name in sorted({name for m in runs for name in m.cpu_s})
                },
            )
        )
    return points


def _find(points: list[Point], target: str, connections: int) -> Point | None:
    return next((p for p in points if p.target == target and p.connections == connections), None)


def ratios(points: list[Point]) -> list[dict[str, float | int | str]]:
    rows: list[dict[str, float | int | str]] = []
    for connections in sorted({p.connections for p in points}):
        proxy = _find(points, "proxy", connections)
        if proxy is None:
            continue
        for base_name in ("direct", "nginx"):
            base = _find(points, base_name, connections)
            if base is None or not base.rps or not base.p50_ms or not base.p99_ms:
                continue
            rows.append(
                {
                    "connections": connections,
                    "versus": base_name,
                    "rps_ratio": proxy.rps / base.rps,
                    "p50_ratio": proxy.p50_ms / base.p50_ms,
                    "p99_ratio": proxy.p99_ms / base.p99_ms,
                    "p50_added_ms": proxy.p50_ms - base.p50_ms,
                }
            )
    return rows


def markdown(
    points: list[Point],
    conditions: dict[str, str],
    settings: dict[str, str],
    failures: list[str],
) -> str:
    lines = [
        "# Benchmark: Tollgate proxy vs the mock provider directly vs an nginx hop",
        "",
        "Written by `make bench` (`bench/run.py`). Every number below comes from one run on one machine; the",
        "load generator, nginx, the proxy, the rest of the stack and the mock provider all share its cores (and",
        "whatever else the machine runs: see the load averages), so read the ratios and the CPU per request",
        "rather than the absolute req/s, which move from run to run.",
        "",
        "## Results (median over rounds)",
        "",
        "| target | connections | req/s | p50 (ms) | p99 (ms) | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        lines.append(
            f"| {TARGETS[p.target]} | {p.connections} | {p.rps:,.0f} | {p.p50_ms:.2f} | {p.p99_ms:.2f} "
            f"| {p.requests:,} | {p.errors} |"
        )
    names = [n for n in PROCESS_ORDER if any(p.cpu_us.get(n, 0) for p in points)]
    names += sorted({n for p in points for n in p.cpu_us} - set(names) - set(PROCESS_ORDER))
    if names:
        lines += [
            "",
            "## CPU per request (µs, median over rounds)",
            "",
            "CPU time (user + system, from /proc) each server-side process spent during the point, divided by the",
            "requests served; for the proxy, until metering had stored the point's usage records. Steadier than",
            "req/s on a shared machine; wrk's own CPU is not counted.",
            "",
            "| target | connections | " + " | ".join(names) + " | total |",
            "|---|---:|" + "---:|" * (len(names) + 1),
        ]
        for p in points:
            cells = [f"{p.cpu_us.get(n, 0.0):.0f}" for n in names]
            lines.append(
                f"| {TARGETS[p.target]} | {p.connections} | " + " | ".join(cells) + f" | {sum(p.cpu_us.values()):.0f} |"
            )
    rows = ratios(points)
    if rows:
        lines += [
            "",
            "## Ratios (proxy ÷ baseline)",
            "",
            "| connections | baseline | req/s ratio | p50 ratio | p99 ratio | p50 added (ms) |",
            "|---:|---|---:|---:|---:|---:|",
        ]
        for r in rows:
            lines.append(
                f"| {r['connections']} | {TARGETS[str(r['versus'])]} | {r['rps_ratio']:.2f} | {r['p50_ratio']:.2f} "
                f"| {r['p99_ratio']:.2f} | {r['p50_added_ms']:+.2f} |"
            )
    if failures:
        lines += ["", "## Not measured", ""] + [f"- {failure}" for failure in failures]
    lines += ["", "## Conditions", ""]
    lines += [f"- {name}: {value}" for name, value in settings.items()]
    lines += [f"- {name}: {value}" for name, value in conditions.items()]
    lines += [
        "",
        "## What is measured",
        "",
        f"- Every point: `POST /v1/chat/completions`, not streamed, body `{CHAT_BODY}`"
        f" ({len(CHAT_BODY)} bytes); the mock answers 8 words with real `usage` (~600 bytes).",
        "- direct: wrk → mock provider (raw ASGI on uvicorn + uvloop + httptools, one process).",
        "- nginx: wrk → nginx (Debian nginx-light, one worker, `proxy_pass` to an upstream with keepalive,"
        " `proxy_buffering off`) → the same mock provider.",
        "- proxy: wrk → Tollgate proxy with a delegated token (EdDSA JWT for a grant on gpt-4o-mini) →"
        " the same mock provider; nats-server, auth, keyvault and metering (SQLite) run beside it, and"
        " metering records every request's usage from the bus while the load runs.",
        "- wrk keeps its connections open (HTTP/1.1 keep-alive); loopback only.",
        "",
    ]
    return "\n".join(lines)


def write_json(path: Path, points: list[Point], conditions: dict[str, str], failures: list[str]) -> None:
    payload = {
        "points": [asdict(p) for p in points],
        "ratios": ratios(points),
        "conditions": conditions,
        "failures": failures,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
