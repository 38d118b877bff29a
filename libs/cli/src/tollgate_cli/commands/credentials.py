"""`tollgate credential add|list`: provider credentials on keyvault.

The provider key is read from stdin, never from the command line (where the
shell history and the process list would keep it), and is never printed.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer

from tollgate_cli.context import api
from tollgate_cli.errors import UsageProblem
from tollgate_cli.options import JsonFlag, TenantOption
from tollgate_cli.output import emit_json, list_table, record_table

app = typer.Typer(help="Add and list provider credentials (keyvault).", no_args_is_help=True)

FIELDS = ("id", "status", "tenant_id", "provider", "api_style", "base_url", "last4", "version", "created_at")
LIST_COLUMNS = (
    ("id", "id"),
    ("status", "status"),
    ("provider", "provider"),
    ("style", "api_style"),
    ("base_url", "base_url"),
    ("key", "last4"),
)


def read_key_from_stdin() -> str:
    """The key piped on stdin (first line), or typed at a hidden prompt when stdin is a terminal."""
    key = getpass.getpass("Provider API key (hidden): ") if sys.stdin.isatty() else sys.stdin.readline()
    key = key.strip()
    if not key:
        raise UsageProblem(
            "no API key on stdin: pipe it in, e.g. `printenv OPENAI_API_KEY | tollgate credential add …`"
        )
    return key


@app.command("add")
def add(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option(help="openai, anthropic, or another provider name.")],
    api_key_stdin: Annotated[
        bool, typer.Option("--api-key-stdin", help="Read the provider's API key from stdin (required).")
    ] = False,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API root without /v1 (required for other providers).")
    ] = None,
    api_style: Annotated[
        str | None, typer.Option("--api-style", help="openai or anthropic (default: from the provider).")
    ] = None,
    tenant: TenantOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Store a provider API key, encrypted, for a tenant."""
    if not api_key_stdin:
        raise UsageProblem("pass --api-key-stdin and the key on stdin (keys are never taken from the command line)")
    key = read_key_from_stdin()
    with api(ctx) as client:
        body: dict[str, Any] = {
            "tenant_id": tenant or client.default_tenant(),
            "provider": provider,
            "api_key": key,
        }
        if base_url is not None:
            body["base_url"] = base_url
        if api_style is not None:
            body["api_style"] = api_style
        credential = client.call("keyvault", "POST", "/v1/credentials", json=body)
    if as_json:
        emit_json(credential)
    else:
        record_table("Credential added", credential, FIELDS)


@app.command("list")
def list_credentials(ctx: typer.Context, tenant: TenantOption = None, as_json: JsonFlag = False) -> None:
    """List credentials (never the keys; only their last four characters)."""
    params = {"tenant_id": tenant} if tenant else None
    with api(ctx) as client:
        answer = client.call("keyvault", "GET", "/v1/credentials", params=params)
    if as_json:
        emit_json(answer)
    else:
        list_table("Credentials", answer.get("data", []), LIST_COLUMNS)
