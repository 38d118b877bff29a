"""`make bench`: the mock provider directly, through an nginx hop, and through the Tollgate proxy, in one run.

    .venv/bin/python bench/run.py            # full run, writes bench/RESULTS.md
    .venv/bin/python bench/run.py --quick    # smoke run (1 s per point, one round), prints the table only

Every process it starts (the stack, nginx, a standalone mock) is stopped before it exits, on error and on
SIGTERM/SIGINT too. Installs wrk and nginx-light with apt-get when they are missing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from bench_cpu import CpuMeter
from bench_nginx import UPSTREAM_KEEPALIVE, WORKER_PROCESSES, start_nginx
from bench_procs import start_mock
from bench_report import markdown, summarise, write_json
from bench_stack import start_stack
from bench_tools import LOAD_AT_START, conditions, ensure_tools
from bench_wrk import CHAT_BODY, Measurement, run_wrk, write_script

HERE = Path(__file__).resolve().parent
STANDALONE_MOCK_KEY = "sk-bench-mock"
# What works after the proxy has answered: metering stores the usage records, nats carries them.
AFTERMATH = ("metering", "nats", "proxy")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s per point, one round, no warm-up")
    parser.add_argument("--seconds", type=int, help="duration of each point (default 8, quick 1)")
    parser.add_argument("--rounds", type=int, help="rounds over all points; the median is reported (default 3)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per target before measuring (default 2)")
    parser.add_argument("--connections", default="1,16", help="comma-separated connection counts (default 1,16)")
    parser.add_argument("--no-proxy", action="store_true", help="skip the Tollgate proxy (no stack is started)")
    parser.add_argument("--output", type=Path, help="Markdown results (default bench/RESULTS.md; none when quick)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (1 if args.quick else 8)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.warmup = (0 if args.quick else 2) if args.warmup is None else args.warmup
    if args.output is None and not args.quick:
        args.output = HERE / "RESULTS.md"
    args.connections = [int(c) for c in args.connections.split(",")]
    if args.seconds < 1 or args.rounds < 1 or args.warmup < 0 or min(args.connections) < 1:
        parser.error("seconds and rounds must be ≥ 1, warm-up ≥ 0, connections ≥ 1")
    return args


def _stop_on_sigterm() -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _check_target(url: str, key: str) -> None:
    """One request by hand, so wrk never measures a stream of errors."""
    request = urllib.request.Request(url, data=CHAT_BODY.encode(), method="POST")  # noqa: S310 - loopback
    request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{url} answered HTTP {exc.code}: {exc.read()[:300]!r}") from None
    if not answer.get("usage"):
        raise RuntimeError(f"{url} answered without usage: {answer}")


Targets = dict[str, tuple[str, Path, str]]  # name -> (URL, wrk script, key)


def _start_targets(
    args: argparse.Namespace, nginx: str, workdir: Path, running: contextlib.ExitStack, failures: list[str]
) -> tuple[Targets, dict[str, int]]:
    """Start the stack (unless --no-proxy), nginx, and a standalone mock when there is no stack; register their
    stops on `running`. Returns the targets and the server-side processes by name."""
    proxy: Targets = {}
    pids: dict[str, int] = {}
    mock_url, mock_key = "", STANDALONE_MOCK_KEY
    if not args.no_proxy:
        print("starting the stack (nats, auth, keyvault, metering, proxy, mock provider) ...", flush=True)
        try:
            stack = start_stack(workdir / "stack")
        except Exception as exc:  # the direct and nginx points are still worth measuring
            failures.append(f"Tollgate proxy: the stack did not start: {str(exc).splitlines()[0]}")
            print(f"the stack did not start; measuring without the proxy:\n{exc}", file=sys.stderr)
        else:
            running.callback(stack.stop)
            mock_url, mock_key = stack.mock_url, stack.mock_key
            pids |= stack.pids()
            script = write_script(workdir / "proxy.lua", CHAT_BODY, stack.token)
            proxy["proxy"] = (f"{stack.proxy_url}/v1/chat/completions", script, stack.token)
    if not mock_url:
        mock, mock_url = start_mock(workdir, mock_key)
        running.callback(mock.stop)
        pids["mock"] = mock.process.pid
    nginx_child, nginx_url = start_nginx(nginx, workdir / "nginx", int(mock_url.rsplit(":", 1)[1]))
    running.callback(nginx_child.stop)
    pids["nginx"] = nginx_child.process.pid
    mock_script = write_script(workdir / "mock.lua", CHAT_BODY, mock_key)
    targets = {
        "direct": (f"{mock_url}/v1/chat/completions", mock_script, mock_key),
        "nginx": (f"{nginx_url}/v1/chat/completions", mock_script, mock_key),
        **proxy,
    }
    return targets, pids


def _measure(args: argparse.Namespace, wrk: str, targets: Targets, meter: CpuMeter) -> list[Measurement]:
    """Warm every target up, then the rounds: every target at every connection count, in the same order."""
    for target, (url, script, key) in targets.items():
        _check_target(url, key)
        if args.warmup:
            run_wrk(wrk, script, url, target=target, connections=max(args.connections), seconds=args.warmup)
            meter.wait_idle(AFTERMATH)
    measurements = []
    for round_number in range(1, args.rounds + 1):
        for target, (url, script, _key) in targets.items():
            for connections in args.connections:
                meter.start()
                m = run_wrk(wrk, script, url, target=target, connections=connections, seconds=args.seconds)
                if target == "proxy":
                    # The usage the point produced is part of its cost: count it once metering has drained.
                    meter.wait_idle(AFTERMATH)
                m = dataclasses.replace(m, cpu_s=meter.since())
                measurements.append(m)
                print(
                    f"round {round_number}/{args.rounds} {target:>6} c={connections:<3} {m.rps:>9,.0f} req/s"
                    f"  p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms  errors {m.errors}",
                    flush=True,
                )
    return measurements


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    _stop_on_sigterm()
    wrk, nginx = ensure_tools()
    facts = conditions(wrk, nginx)
    started = datetime.now(UTC)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tollgate-bench-") as tmp, contextlib.ExitStack() as running:
        targets, pids = _start_targets(args, nginx, Path(tmp), running, failures)
        measurements = _measure(args, wrk, targets, CpuMeter(pids))
    points = summarise(measurements)
    settings = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "duration per point": f"{args.seconds} s, {args.rounds} round(s), {args.warmup} s warm-up per target",
        "connections": ", ".join(str(c) for c in args.connections) + " (wrk, one thread, keep-alive)",
        "nginx": f"{WORKER_PROCESSES} worker, upstream keepalive {UPSTREAM_KEEPALIVE}",
        "services' log level": "WARNING",
        "total time": f"{(datetime.now(UTC) - started).total_seconds():.0f} s",
        "load average at start (1/5/15 min)": facts.pop(LOAD_AT_START),
        "load average at end (1/5/15 min)": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    report = markdown(points, facts, settings, failures)
    print(report)
    if args.output is not None:
        args.output.write_text(report)
        print(f"written to {args.output}")
    if args.json is not None:
        write_json(args.json, points, facts | settings, failures)
    errors = sum(p.errors for p in points)
    return 1 if failures or errors else 0


if __name__ == "__main__":
    sys.exit(main())
