"""`tollgate tenant template show|set TENANT`: what the consent page proposes to a tenant's owners where an app
asked for nothing (a scope-only request, as MCP clients send). Proposals only: the owner may change any of them.

`set` replaces the whole template (a PUT): an option left out proposes nothing for that term.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tollgate_cli.context import api
from tollgate_cli.durations import format_duration, parse_duration
from tollgate_cli.options import DURATION_HELP, JsonFlag, option_value, parse_dollars
from tollgate_cli.output import emit_json, record_table

app = typer.Typer(help="Tenants (auth).", no_args_is_help=True)
template_app = typer.Typer(
    help="A tenant's consent template: the terms proposed where an app asks for none.", no_args_is_help=True
)
app.add_typer(template_app, name="template")

PERIODS = ("total", "day", "month")
FIELDS = (
    "tenant_id",
    "is_default",
    "provider",
    "models",
    "capabilities",
    "budget_usd",
    "budget_period",
    "max_requests",
    "rpm",
    "tpm",
    "expires_in",
)
TenantArgument = Annotated[str, typer.Argument(help="Tenant id (tnt_…).", metavar="TENANT")]


def _path(tenant: str) -> str:
    return f"/v1/tenants/{tenant}/consent-template"


def _show(template: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        emit_json(template)
        return
    seconds = template.get("expires_in_seconds")
    shown = {
        **{k: v for k, v in template.items() if k != "expires_in_seconds"},
        "models": ", ".join(template.get("models") or []) or None,
        "capabilities": ", ".join(template.get("capabilities") or []) or None,
        "expires_in": None if seconds is None else format_duration(int(seconds)),
    }
    record_table(title, shown, FIELDS)


@template_app.command("show")
def show(ctx: typer.Context, tenant: TenantArgument, as_json: JsonFlag = False) -> None:
    """Show the tenant's consent template (the built-in default, `is_default`, until one is set)."""
    with api(ctx) as client:
        template = client.call("auth", "GET", _path(tenant))
    _show(template, as_json, "Consent template")


@template_app.command("set")
def set_template(
    ctx: typer.Context,
    tenant: TenantArgument,
    provider: Annotated[str | None, typer.Option("--provider", help="Proposed provider.")] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="A proposed model (glob patterns allowed); repeat.")
    ] = None,
    capability: Annotated[
        list[str] | None, typer.Option("--capability", help="A proposed endpoint family (chat, …); repeat.")
    ] = None,
    budget_usd: Annotated[
        str | None, typer.Option("--budget-usd", help="Proposed spend cap in dollars.", metavar="USD")
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help=f"Budget period: {', '.join(PERIODS)} (needs --budget-usd).")
    ] = None,
    max_requests: Annotated[int | None, typer.Option("--max-requests", min=0, help="Proposed request cap.")] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", min=1, help="Proposed requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", min=1, help="Proposed tokens per minute.")] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help=f"Proposed grant lifetime: {DURATION_HELP}.", metavar="DURATION")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Replace the tenant's consent template; auth checks every value as it checks a grant's."""
    if period is not None and period not in PERIODS:
        raise typer.BadParameter(f"must be one of {', '.join(PERIODS)}", param_hint="'--period'")
    if period is not None and budget_usd is None:
        raise typer.BadParameter("needs --budget-usd", param_hint="'--period'")
    optional: dict[str, Any] = {
        "provider": provider,
        "models": model or None,
        "capabilities": capability or None,
        "budget_usd": option_value(parse_dollars, budget_usd, "--budget-usd"),
        "budget_period": period,
        "max_requests": max_requests,
        "rpm": rpm,
        "tpm": tpm,
        "expires_in_seconds": option_value(parse_duration, expires_in, "--expires-in"),
    }
    body = {key: value for key, value in optional.items() if value is not None}
    with api(ctx) as client:
        template = client.call("auth", "PUT", _path(tenant), json=body)
    _show(template, as_json, "Consent template set")
