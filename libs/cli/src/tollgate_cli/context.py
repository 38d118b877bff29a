"""The connection flags given to the root command, and the API client built from them in each command."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from tollgate_cli.client import Api
from tollgate_cli.config import Flags, resolve


def api(ctx: typer.Context) -> Api:
    """A client for the deployment the flags, environment and current directory point at."""
    root = ctx.find_root()
    flags = root.obj if isinstance(root.obj, Flags) else Flags()
    return Api(resolve(flags, os.environ, Path.cwd()))
