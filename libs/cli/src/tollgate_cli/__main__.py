"""Entry point of the `tollgate` console script."""

from __future__ import annotations

from tollgate_cli.app import app


def main() -> None:
    app(prog_name="tollgate")


if __name__ == "__main__":
    main()
