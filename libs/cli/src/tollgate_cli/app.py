"""The `tollgate` command tree, and the one place where expected failures become one line and an exit code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tollgate_cli.commands import credentials, grants, requests, signing_keys, status, tenants, tokens, usage, users
from tollgate_cli.config import Flags
from tollgate_cli.errors import CliError


def _fail(message: str, exit_code: int) -> typer.Exit:
    # Plain write, not rich: rich would wrap a long message over several lines.
    typer.echo(f"tollgate: error: {message}", err=True)
    return typer.Exit(exit_code)


class Root(TyperGroup):
    """The root group: every subcommand runs inside its invoke, so errors are mapped here once."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as exc:
            if os.environ.get("TOLLGATE_DEBUG"):
                raise
            raise _fail(exc.message, exc.exit_code) from None
        except OSError as exc:
            # Reading stdin or a file; the message names the path, never a secret.
            raise _fail(CliError(str(exc)).message, 1) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A service answered 2xx with a shape this CLI does not know (a version mismatch, most likely).
            if os.environ.get("TOLLGATE_DEBUG"):
                raise
            detail = f"{type(exc).__name__}: {exc}"
            raise _fail(f"unexpected answer from a service ({detail}); TOLLGATE_DEBUG=1 shows a traceback", 1) from None


app = typer.Typer(
    name="tollgate",
    cls=Root,
    help="Operate Tollgate: grants, tokens, usage, provider credentials, and the stack's status.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(grants.app, name="grant")
app.add_typer(tokens.app, name="token")
app.add_typer(credentials.app, name="credential")
app.add_typer(users.app, name="user")
app.add_typer(tenants.app, name="tenant")
app.add_typer(requests.app, name="request")
app.add_typer(signing_keys.app, name="signing-key")
app.command("usage")(usage.usage)
app.command("status")(status.status)


@app.callback()
def root(
    ctx: typer.Context,
    auth_url: Annotated[str | None, typer.Option("--auth-url", help="auth's URL (env TOLLGATE_AUTH_URL).")] = None,
    metering_url: Annotated[
        str | None, typer.Option("--metering-url", help="metering's URL (env TOLLGATE_METERING_URL).")
    ] = None,
    keyvault_url: Annotated[
        str | None, typer.Option("--keyvault-url", help="keyvault's URL (env TOLLGATE_KEYVAULT_URL).")
    ] = None,
    proxy_url: Annotated[
        str | None, typer.Option("--proxy-url", help="The proxy's URL, for status (env TOLLGATE_PROXY_URL).")
    ] = None,
    admin_key_file: Annotated[
        Path | None,
        typer.Option(
            "--admin-key-file",
            help="File holding the admin key (env TOLLGATE_ADMIN_KEY_FILE, or the key in TOLLGATE_ADMIN_KEY).",
        ),
    ] = None,
) -> None:
    """Operate Tollgate. Without flags or TOLLGATE_* variables, talks to the stack `make run` started from this
    directory (its .tollgate/stack.json and admin key), else to the default localhost ports."""
    ctx.obj = Flags(
        auth_url=auth_url,
        metering_url=metering_url,
        keyvault_url=keyvault_url,
        proxy_url=proxy_url,
        admin_key_file=admin_key_file,
    )
