"""`make bench` must keep working: a short run of the same script, every target measured without errors.

The numbers themselves are never asserted (a shared 2-core box is noisy); the
full run is `make bench`, which writes bench/RESULTS.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_quick_bench_measures_every_target_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--connections", "1", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["failures"] == []
    targets = {point["target"] for point in report["points"]}
    assert len(targets) == 3, targets
    for point in report["points"]:
        assert point["requests"] > 0, point
        assert point["errors"] == 0, point
    assert report["ratios"], "the proxy was not compared against its baselines"
