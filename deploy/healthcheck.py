"""Container health check: exit 0 when the service in this container answers 200 on a path, else 1.

Usage: python /app/healthcheck.py [/healthz|/readyz]

The slim image has no curl, so the standard library does it. The service is named by `TOLLGATE_SERVICE`
(set in the image) and its port by `TOLLGATE_<SERVICE>_PORT` (what the service itself listens on).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORTS = {"proxy": 8080, "auth": 8081, "metering": 8082, "keyvault": 8083}


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz"
    service = os.environ.get("TOLLGATE_SERVICE", "")
    if service not in DEFAULT_PORTS:
        sys.stderr.write(f"healthcheck: TOLLGATE_SERVICE must be one of {sorted(DEFAULT_PORTS)}\n")
        return 1
    port = os.environ.get(f"TOLLGATE_{service.upper()}_PORT") or str(DEFAULT_PORTS[service])
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        sys.stderr.write(f"healthcheck: {url}: {exc}\n")
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
