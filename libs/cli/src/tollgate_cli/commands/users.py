"""`tollgate user create|list`: owner accounts on auth, who sign in to approve apps' requests.

The password is read from stdin (or a hidden prompt on a terminal), never from the command line, and is never
printed; auth keeps only its argon2id hash.
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

app = typer.Typer(help="Create and list owner accounts (auth).", no_args_is_help=True)

ROLES = ("admin", "developer", "user", "read-only")
FIELDS = ("id", "email", "role", "tenant_id", "created_at")
LIST_COLUMNS = (("id", "id"), ("email", "email"), ("role", "role"), ("tenant", "tenant_id"), ("created", "created_at"))


def read_password_from_stdin() -> str:
    """The password piped on stdin (its first line, without the line break), or typed twice at a hidden prompt."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password (hidden): ")
        if getpass.getpass("Again: ") != password:
            raise UsageProblem("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageProblem(
            "no password on stdin: pipe it in, e.g. `tollgate user create --email E --password-stdin < file`"
        )
    return password


@app.command("create")
def create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="Sign-in email (stored lowercased).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (required).")
    ] = False,
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")] = "user",
    tenant: TenantOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an owner account (at least 12 characters of password)."""
    if not password_stdin:
        raise UsageProblem("pass --password-stdin and the password on stdin (never on the command line)")
    if role not in ROLES:
        raise UsageProblem(f"--role must be one of {', '.join(ROLES)}")
    password = read_password_from_stdin()
    body: dict[str, Any] = {"email": email, "password": password, "role": role}
    if tenant is not None:
        body["tenant_id"] = tenant
    with api(ctx) as client:
        user = client.call("auth", "POST", "/v1/users", json=body)
    if as_json:
        emit_json(user)
    else:
        record_table("User created", user, FIELDS)


@app.command("list")
def list_users(ctx: typer.Context, tenant: TenantOption = None, as_json: JsonFlag = False) -> None:
    """List owner accounts (never a password or its hash)."""
    params = {"tenant_id": tenant} if tenant else None
    with api(ctx) as client:
        answer = client.call("auth", "GET", "/v1/users", params=params)
    if as_json:
        emit_json(answer)
    else:
        list_table("Users", answer.get("data", []), LIST_COLUMNS)
