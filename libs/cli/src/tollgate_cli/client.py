"""HTTP calls to auth, keyvault and metering, with their failures turned into one-line CliErrors.

Each service answers errors as `{"error": {"code", "message"}}`; anything
else (a proxy in the way, a crash page) is reported by status and a short
excerpt. Requests never carry the admin key anywhere but the header, and no
message here includes a header.
"""

from __future__ import annotations

from typing import Any

import httpx

from tollgate_cli.config import Config
from tollgate_cli.errors import ApiError, CliError, Unreachable

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def _error_from(service: str, response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(service, response.status_code, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        excerpt = " ".join(response.text.split())[:200] or response.reason_phrase
        return ApiError(service, response.status_code, "http_error", excerpt)


class Api:
    """The admin APIs of one Tollgate deployment."""

    def __init__(self, config: Config, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.Client(timeout=TIMEOUT, transport=transport)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        admin: bool = True,
    ) -> Any:
        """The decoded JSON answer of a 2xx response; CliError otherwise."""
        url = self.config.url(service) + path
        headers = {"Authorization": f"Bearer {self.config.admin_key()}"} if admin else {}
        response = self._send(service, method, url, json=json, params=params, headers=headers)
        if not response.is_success:
            raise _error_from(service, response)
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(
                f"{service}: the answer to {method} {path} is not JSON (HTTP {response.status_code})"
            ) from exc

    def probe(self, service: str, path: str) -> httpx.Response:
        """A GET without the admin key whose response is returned whatever its status (health checks)."""
        return self._send(service, "GET", self.config.url(service) + path, timeout=5.0)

    def _send(self, service: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            raise Unreachable(service, self.config.url(service), _reason(exc)) from exc
        except httpx.TimeoutException as exc:
            raise Unreachable(service, self.config.url(service), "no answer in time") from exc
        except httpx.HTTPError as exc:
            raise Unreachable(service, self.config.url(service), f"{type(exc).__name__}: {exc}") from exc

    # --- auth ---------------------------------------------------------------------------------------------------

    def default_tenant(self) -> str:
        """The tenant to use when none is given: the one named `default`, or the only one."""
        tenants = self.call("auth", "GET", "/v1/tenants")["data"]
        for tenant in tenants:
            if tenant.get("name") == "default":
                return str(tenant["id"])
        if len(tenants) == 1:
            return str(tenants[0]["id"])
        raise CliError(f"auth has {len(tenants)} tenants and none is named 'default': pass --tenant")


def _reason(exc: httpx.ConnectError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused (is the stack running? `make run` starts it)"
    return str(exc) or type(exc).__name__
