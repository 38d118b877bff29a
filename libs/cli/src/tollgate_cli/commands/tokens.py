"""`tollgate token mint`: a short-lived delegated token for a grant (auth)."""

from __future__ import annotations

from typing import Annotated

import typer

from tollgate_cli.context import api
from tollgate_cli.durations import format_duration, parse_duration
from tollgate_cli.options import DURATION_HELP, JsonFlag, option_value
from tollgate_cli.output import console, emit_json

app = typer.Typer(help="Mint delegated tokens (auth).", no_args_is_help=True)


@app.command("mint")
def mint(
    ctx: typer.Context,
    grant_id: Annotated[str, typer.Argument(help="Grant id (grt_…).")],
    ttl: Annotated[
        str | None, typer.Option("--ttl", help=f"Token lifetime: {DURATION_HELP} (default 15m).", metavar="DURATION")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Mint a token for an active grant; apps send it as `Authorization: Bearer <token>` to the proxy."""
    seconds = option_value(parse_duration, ttl, "--ttl")
    body = {} if seconds is None else {"ttl_seconds": seconds}
    with api(ctx) as client:
        token = client.call("auth", "POST", f"/v1/grants/{grant_id}/tokens", json=body)
    if as_json:
        emit_json(token)
        return
    out = console()
    out.print(f"{token['token_type']} token for {grant_id}, valid {format_duration(int(token['expires_in']))}:")
    # The token is what was asked for; printed alone on its line so it can be copied or captured.
    out.print(token["access_token"], soft_wrap=True)
