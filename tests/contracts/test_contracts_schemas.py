"""Schema snapshots: a change to a wire model shows up here, so it is made on purpose.

Within a version only additive, optional fields are allowed. To accept an
intended change: `TOLLGATE_UPDATE_SNAPSHOTS=1 pytest tests/contracts` and commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel

import tollgate_contracts as contracts

SNAPSHOTS = Path(__file__).parent / "snapshots"
MODELS: list[type[BaseModel]] = [
    obj
    for name in contracts.__all__
    if isinstance(obj := getattr(contracts, name), type) and issubclass(obj, BaseModel)
]
WIRE_MODELS = [m for m in MODELS if m not in (contracts.Message, contracts.Event, contracts.StateEvent)]


@pytest.mark.parametrize("model", WIRE_MODELS, ids=lambda m: m.__name__)
def test_wire_schema_matches_snapshot(model: type[BaseModel]) -> None:
    current = json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"{model.__name__}.json"
    if os.environ.get("TOLLGATE_UPDATE_SNAPSHOTS") == "1":
        path.write_text(current)
    assert path.exists(), f"no snapshot for {model.__name__}: run with TOLLGATE_UPDATE_SNAPSHOTS=1"
    old = json.loads(path.read_text())
    new = json.loads(current)
    removed = set(old.get("properties", {})) - set(new.get("properties", {}))
    assert not removed, f"{model.__name__} lost fields {removed}: a breaking change needs a new subject version"
    added_required = set(new.get("required", [])) - set(old.get("required", []))
    assert not added_required, f"{model.__name__} gained required fields {added_required}: only optional additions"
    assert current == path.read_text(), f"{model.__name__} schema changed: review, then refresh the snapshot"


def test_every_public_name_is_documented() -> None:
    for name in contracts.__all__:
        obj = getattr(contracts, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__doc__, f"{name} has no docstring"
