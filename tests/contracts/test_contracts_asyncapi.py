"""The checked-in AsyncAPI document must match what the contracts generate."""

from __future__ import annotations

import json
from pathlib import Path

from tollgate_contracts.asyncapi import EVENTS, REQUESTS, render

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def test_checked_in_asyncapi_document_is_up_to_date() -> None:
    assert DOCUMENT.exists(), "docs/asyncapi.json is missing: run `make asyncapi`"
    assert DOCUMENT.read_text() == render(), "docs/asyncapi.json is out of date: run `make asyncapi` and commit it"


def test_asyncapi_document_describes_every_subject_and_payload() -> None:
    document = json.loads(render())
    addresses = {channel["address"] for channel in document["channels"].values()}
    for _model, subject, _flow in EVENTS:
        assert subject in addresses
    for _request, _reply, subject, _flow in REQUESTS:
        assert subject in addresses
    schemas = document["components"]["schemas"]
    for model, _subject, _flow in EVENTS:
        assert model.__name__ in schemas
        # every field carries a description, so the document explains the payload
        for name, prop in schemas[model.__name__]["properties"].items():
            assert prop.get("description"), f"{model.__name__}.{name} has no description"
