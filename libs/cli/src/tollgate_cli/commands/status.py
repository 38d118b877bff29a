"""`tollgate status`: whether each service answers and is ready (no admin key needed)."""

from __future__ import annotations

from typing import Any

import httpx
import typer

from tollgate_cli.client import Api
from tollgate_cli.config import SERVICES
from tollgate_cli.context import api
from tollgate_cli.errors import Unreachable
from tollgate_cli.options import JsonFlag
from tollgate_cli.output import emit_json, list_table


def probe(client: Api, service: str) -> dict[str, Any]:
    report: dict[str, Any] = {"url": client.config.url(service), "ready": False}
    try:
        response = client.probe(service, "/readyz")
    except Unreachable as exc:
        report.update(status="unreachable", detail=exc.reason.split(" (")[0])
        return report
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    report["ready"] = response.status_code == httpx.codes.OK
    report["status"] = body.get("status", f"HTTP {response.status_code}")
    if body.get("detail") is not None:
        report["detail"] = body["detail"]
    return report


def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Readiness of auth, keyvault, metering and the proxy; exit code 1 unless all are ready."""
    with api(ctx) as client:
        reports = {service: probe(client, service) for service in SERVICES}
    if as_json:
        emit_json(reports)
    else:
        rows = [{"service": name, **report} for name, report in reports.items()]
        list_table("Services", rows, [(name, name) for name in ("service", "ready", "status", "url", "detail")])
    if not all(report["ready"] for report in reports.values()):
        raise typer.Exit(1)
