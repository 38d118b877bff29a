"""docs/asyncapi.json: the services' real FastStream handlers plus the contracts' description of every other
subject (`tollgate_devstack.asyncapi`). The checked-in copy must match what they generate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tollgate_contracts import SealReply, SealRequest
from tollgate_contracts.asyncapi import EVENTS, REQUESTS, build_document, received_by
from tollgate_contracts.permissions import SEAL_QUEUE
from tollgate_devstack.asyncapi import handlers, render

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def test_checked_in_asyncapi_document_is_up_to_date() -> None:
    assert DOCUMENT.exists(), "docs/asyncapi.json is missing: run `make asyncapi`"
    assert DOCUMENT.read_text() == render(), "docs/asyncapi.json is out of date: run `make asyncapi` and commit it"


def _operations(document: dict[str, Any], address: str) -> list[tuple[str, dict[str, Any]]]:
    """(action, channel) of every operation on `address`."""
    found = []
    for operation in document["operations"].values():
        channel = document["channels"][unquote(operation["channel"]["$ref"].rsplit("/", 1)[1])]
        if channel["address"] == address:
            found.append((operation["action"], channel))
    return found


def test_the_seal_request_is_documented_by_keyvaults_real_handler_and_only_by_it() -> None:
    assert received_by(*handlers()) == {(SealRequest.subject, "SealRequest")}
    document = json.loads(render())
    [(action, channel)] = _operations(document, SealRequest.subject)  # no parallel entry from the contracts
    assert action == "receive"
    assert channel["bindings"]["nats"]["queue"] == SEAL_QUEUE
    # FastStream documents no reply: the contracts still describe SealReply on the requester's inbox.
    replies = [ch for _, ch in _operations(document, "_INBOX.{inbox}") if SealReply.__name__ in str(ch["messages"])]
    assert len(replies) == 1


def test_asyncapi_document_describes_every_subject_and_payload() -> None:
    for document in (json.loads(render()), build_document()):  # with the real handlers, and the contracts alone
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
        for request, reply, _subject, _flow in REQUESTS:
            assert {request.__name__, reply.__name__} <= schemas.keys()
