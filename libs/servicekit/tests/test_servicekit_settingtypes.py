"""Settings field types: lists from comma-separated environment variables."""

from __future__ import annotations

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from tollgate_servicekit.settingtypes import CommaSeparated


class Example(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOLLGATE_EXAMPLE_")

    allow: CommaSeparated = []


def test_a_comma_separated_variable_is_a_list_without_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_EXAMPLE_ALLOW", " 127.0.0.1:8090, [::1]:9 ,,")
    assert Example().allow == ["127.0.0.1:8090", "[::1]:9"]
    monkeypatch.setenv("TOLLGATE_EXAMPLE_ALLOW", "")
    assert Example().allow == []


def test_a_list_given_in_code_is_taken_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOLLGATE_EXAMPLE_ALLOW", raising=False)
    assert Example().allow == []
    assert Example(allow=["a:1"]).allow == ["a:1"]
