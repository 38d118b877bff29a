"""The embedded stack tells auth and the proxy the same two URLs, so the tokens auth signs are the proxy's."""

from __future__ import annotations

from pathlib import Path

from tollgate_devstack.layout import StackPaths, StackPorts
from tollgate_devstack.services import Database, service_env


def test_auth_and_the_proxy_agree_on_the_issuer_and_the_resource(tmp_path: Path) -> None:
    ports, paths = StackPorts.free(), StackPaths(tmp_path)
    auth = service_env("auth", ports=ports, paths=paths, database=Database(), log_level="INFO")
    proxy = service_env("proxy", ports=ports, paths=paths, database=Database(), log_level="INFO")
    assert auth["TOLLGATE_AUTH_PUBLIC_URL"] == proxy["TOLLGATE_PROXY_ISSUER"] == f"http://127.0.0.1:{ports.auth}"
    assert auth["TOLLGATE_AUTH_RESOURCE"] == proxy["TOLLGATE_PROXY_PUBLIC_URL"] == f"http://127.0.0.1:{ports.proxy}"
    metering = service_env("metering", ports=ports, paths=paths, database=Database(), log_level="INFO")
    assert not any(key.endswith(("_PUBLIC_URL", "_ISSUER", "_RESOURCE")) for key in metering)
