"""docs/openapi/<service>.json: the checked-in HTTP API documents match what the apps declare."""

from __future__ import annotations

from pathlib import Path

import pytest

from tollgate_devstack.openapi import SERVICES, document, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi"


@pytest.mark.parametrize("service", SERVICES)
def test_checked_in_openapi_document_is_up_to_date(service: str) -> None:
    path = DOCS / f"{service}.json"
    assert path.exists(), f"docs/openapi/{service}.json is missing: run `make openapi`"
    assert path.read_text() == render(service), f"docs/openapi/{service}.json is out of date: run `make openapi`"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_is_described(service: str) -> None:
    """A complete document: every route says what it does (its docstring) and declares what it answers."""
    for path, operations in document(service)["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description"), f"{method.upper()} {path} has no description (a docstring)"
            assert operation.get("responses"), f"{method.upper()} {path} declares no response"
