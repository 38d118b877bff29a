"""`tollgate request list|approve|deny`: the owner decides devices' grant requests (RFC 8628) from a terminal.

A request is named by its id (`req_…`) or by the user code the device shows (`BCDF-GHJK`; case and dash do not
matter). Approval may only narrow what the device asked for; auth refuses anything wider.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tollgate_cli.commands.grants import show_grant
from tollgate_cli.context import api
from tollgate_cli.durations import parse_duration
from tollgate_cli.options import DURATION_HELP, JsonFlag, option_value, parse_dollars
from tollgate_cli.output import emit_json, list_table, record_table

app = typer.Typer(help="List, approve and deny devices' grant requests (auth).", no_args_is_help=True)

NameArgument = Annotated[
    str, typer.Argument(help="Request id (req_…) or the user code the device shows.", metavar="ID_OR_USER_CODE")
]
LIST_COLUMNS = (
    ("id", "id"),
    ("user code", "user_code"),
    ("client", "client_name"),
    ("asks for", "asks"),
    ("expires (UTC)", "expires_at"),
)
REQUEST_FIELDS = ("id", "status", "user_code", "client_name", "client_id", "grant_id", "created_at", "expires_at")


def summary(request: dict[str, Any]) -> str:
    """What a request asks for, in one table cell: provider, models, budget, reason."""
    parts: list[str] = []
    for entry in request.get("authorization_details") or []:
        if entry.get("provider"):
            parts.append(str(entry["provider"]))
        if entry.get("models"):
            parts.append(",".join(entry["models"]))
        if entry.get("budget"):
            parts.append(f"${entry['budget']['amount']}")
        if entry.get("reason"):
            parts.append(f"“{entry['reason']}”")
    return " ".join(parts) or (request.get("scope") or "(the owner chooses)")


@app.command("list")
def list_requests(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List pending device requests (undecided and unexpired), oldest first."""
    with api(ctx) as client:
        answer = client.call("auth", "GET", "/v1/requests")
    if as_json:
        emit_json(answer)
    else:
        rows = [{**r, "asks": summary(r)} for r in answer.get("data", [])]
        list_table("Pending requests", rows, LIST_COLUMNS)


@app.command("approve")
def approve(
    ctx: typer.Context,
    name: NameArgument,
    budget_usd: Annotated[
        str | None, typer.Option("--budget-usd", help="Spend cap in dollars (at most what was asked).", metavar="USD")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Allow only this model (among those asked); repeat.")
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="The provider, when the request names none.")
    ] = None,
    max_requests: Annotated[int | None, typer.Option("--max-requests", min=0, help="Total request cap.")] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help=f"Grant lifetime: {DURATION_HELP}.", metavar="DURATION")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve a request, narrowed as given; prints the grant created (the device's next poll gets a token)."""
    optional: dict[str, Any] = {
        "budget_usd": option_value(parse_dollars, budget_usd, "--budget-usd"),
        "models": model or None,
        "provider": provider,
        "max_requests": max_requests,
        "expires_in_seconds": option_value(parse_duration, expires_in, "--expires-in"),
    }
    body = {key: value for key, value in optional.items() if value is not None}
    with api(ctx) as client:
        grant = client.call("auth", "POST", f"/v1/requests/{name}/approve", json=body)
    show_grant(grant, as_json, "Request approved: grant created")


@app.command("deny")
def deny(ctx: typer.Context, name: NameArgument, as_json: JsonFlag = False) -> None:
    """Deny a request; the device's next poll is told access_denied."""
    with api(ctx) as client:
        request = client.call("auth", "POST", f"/v1/requests/{name}/deny")
    if as_json:
        emit_json(request)
    else:
        record_table("Request denied", request, REQUEST_FIELDS)
