"""`tollgate signing-key rotate|list`: auth's token signing keys (public halves and their life only).

Rotation publishes the new key on the bus (acknowledged) before it signs anything; the previous key retires and
stays in the JWKS until every token it signed has expired. Auth also rotates on its own schedule.
"""

from __future__ import annotations

import typer

from tollgate_cli.context import api
from tollgate_cli.options import JsonFlag
from tollgate_cli.output import emit_json, list_table

app = typer.Typer(help="Rotate and list the token signing keys (auth).", no_args_is_help=True)

COLUMNS = (("kid", "kid"), ("status", "status"), ("created", "created_at"), ("verifies until", "not_after"))


@app.command("rotate")
def rotate(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Rotate now: prints the new key's kid and every key with its status (active, retiring, retired)."""
    with api(ctx) as client:
        answer = client.call("auth", "POST", "/v1/signing-keys/rotate")
    if as_json:
        emit_json(answer)
    else:
        list_table(f"Signing keys (new: {answer['kid']})", answer.get("data", []), COLUMNS)


@app.command("list")
def list_keys(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every signing key, newest first, with its status."""
    with api(ctx) as client:
        answer = client.call("auth", "GET", "/v1/signing-keys")
    if as_json:
        emit_json(answer)
    else:
        list_table("Signing keys", answer.get("data", []), COLUMNS)
