"""`tollgate-proxy` as a process: a setting that cannot work is one line and status 1, like every service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_console_script_with_a_bad_setting_exits_1_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_PROXY_")}
    env["TOLLGATE_PROXY_PORT"] = "not-a-port-secret-looking-value"
    script = Path(sys.executable).parent / "tollgate-proxy"
    result = subprocess.run([str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tollgate-proxy: TOLLGATE_PROXY_PORT: "), lines
    assert "secret-looking" not in result.stderr
