"""`tollgate grant create|list|show|revoke`: grants on auth."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tollgate_cli.context import api
from tollgate_cli.durations import parse_duration
from tollgate_cli.options import DURATION_HELP, JsonFlag, TenantOption, option_value, parse_dollars
from tollgate_cli.output import emit_json, list_table, record_table

app = typer.Typer(help="Create, list, show and revoke grants (auth).", no_args_is_help=True)

GRANT_FIELDS = (
    "id",
    "status",
    "tenant_id",
    "app_name",
    "parent_grant_id",
    "provider",
    "models",
    "capabilities",
    "budget_usd",
    "budget_period",
    "max_requests",
    "rpm",
    "tpm",
    "created_at",
    "expires_at",
    "revoked_at",
    "version",
)
LIST_COLUMNS = (
    ("id", "id"),
    ("status", "status"),
    ("provider", "provider"),
    ("models", "models"),
    ("budget $", "budget_usd"),
    ("expires (UTC)", "expires_at"),
)


def show_grant(grant: dict[str, Any], as_json: bool, title: str = "Grant") -> None:
    if as_json:
        emit_json(grant)
    else:
        record_table(title, {k: v for k, v in grant.items() if k != "budget_micro_usd"}, GRANT_FIELDS)


@app.command("create")
def create(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option(help="openai, anthropic, or the name of another configured provider.")],
    model: Annotated[list[str], typer.Option("--model", help="An allowed model (glob patterns allowed); repeat.")],
    capability: Annotated[
        list[str] | None,
        typer.Option("--capability", help="An allowed endpoint family (chat, messages, embeddings…); repeat."),
    ] = None,
    budget_usd: Annotated[
        str | None, typer.Option("--budget-usd", help="Spend cap in US dollars.", metavar="USD")
    ] = None,
    max_requests: Annotated[int | None, typer.Option("--max-requests", min=0, help="Total request cap.")] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", min=1, help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", min=1, help="Tokens per minute.")] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help=f"Lifetime: {DURATION_HELP}.", metavar="DURATION")
    ] = None,
    tenant: TenantOption = None,
    app_name: Annotated[str | None, typer.Option("--app", help="Name of the app the grant is for.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an active grant."""
    body: dict[str, Any] = {"provider": provider, "models": model}
    optional: dict[str, Any] = {
        "capabilities": capability or None,
        "budget_usd": option_value(parse_dollars, budget_usd, "--budget-usd"),
        "max_requests": max_requests,
        "rpm": rpm,
        "tpm": tpm,
        "expires_in_seconds": option_value(parse_duration, expires_in, "--expires-in"),
        "tenant_id": tenant,
        "app_name": app_name,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    with api(ctx) as client:
        grant = client.call("auth", "POST", "/v1/grants", json=body)
    show_grant(grant, as_json, "Grant created")


@app.command("list")
def list_grants(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List grants."""
    with api(ctx) as client:
        answer = client.call("auth", "GET", "/v1/grants")
    if as_json:
        emit_json(answer)
    else:
        list_table("Grants", answer.get("data", []), LIST_COLUMNS)


@app.command("show")
def show(
    ctx: typer.Context, grant_id: Annotated[str, typer.Argument(help="Grant id (grt_…).")], as_json: JsonFlag = False
) -> None:
    """Show one grant."""
    with api(ctx) as client:
        grant = client.call("auth", "GET", f"/v1/grants/{grant_id}")
    show_grant(grant, as_json)


@app.command("revoke")
def revoke(
    ctx: typer.Context, grant_id: Annotated[str, typer.Argument(help="Grant id (grt_…).")], as_json: JsonFlag = False
) -> None:
    """Revoke a grant; returns once the revocation is on the bus, so proxies refuse it from then on."""
    with api(ctx) as client:
        grant = client.call("auth", "POST", f"/v1/grants/{grant_id}/revoke")
    show_grant(grant, as_json, "Grant revoked")
