"""`tollgate usage GRANT_ID`: what a grant has used and spent (metering)."""

from __future__ import annotations

from typing import Annotated

import typer

from tollgate_cli.context import api
from tollgate_cli.options import JsonFlag
from tollgate_cli.output import emit_json, micro_to_usd, record_table

FIELDS = (
    "grant_id",
    "requests",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "budget_usd",
    "max_requests",
    "exhausted",
)


def usage(
    ctx: typer.Context,
    grant_id: Annotated[str, typer.Argument(help="Grant id (grt_…).")],
    as_json: JsonFlag = False,
) -> None:
    """Show a grant's requests, tokens and cost so far."""
    with api(ctx) as client:
        answer = client.call("metering", "GET", f"/v1/usage/{grant_id}")
    if as_json:
        emit_json(answer)
        return
    shown = dict(answer)
    budget = shown.pop("budget_micro_usd", None)
    shown.pop("cost_micro_usd", None)
    shown.setdefault("budget_usd", None if budget is None else micro_to_usd(int(budget)))
    record_table("Usage", shown, FIELDS)
