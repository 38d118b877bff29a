"""A real stack (SQLite, free ports) for the CLI tests that need services, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tollgate_devstack.stack import Stack


@pytest.fixture(scope="session")
def cli_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("cli-stack")) as stack:
        yield stack
