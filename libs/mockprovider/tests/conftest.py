"""A real mock-provider server shared by this package's tests (bound to a free port by the OS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tollgate_mockprovider import Settings
from tollgate_mockprovider.testing import MockProviderServer

API_KEY = "sk-mock-test-key"


@pytest.fixture(scope="module")
def mock_server() -> Iterator[MockProviderServer]:
    with MockProviderServer(Settings(api_key=SecretStr(API_KEY))) as server:
        yield server
