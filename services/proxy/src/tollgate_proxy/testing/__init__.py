"""Fakes of the proxy's ports, test-data builders and an in-memory harness, shipped with the package.

Used by the proxy's own tests and by any cross-service test that needs them; nothing here opens a socket.
"""

from tollgate_proxy.testing.builders import (
    GRANT,
    TENANT,
    Signer,
    make_api_key,
    make_breaker,
    make_budget,
    make_credential,
    make_grant,
    make_revocation,
    make_usage,
)
from tollgate_proxy.testing.dpop import DpopApp, DpopAuth
from tollgate_proxy.testing.fakes import (
    Answer,
    FakeClock,
    FakeReadiness,
    FakeResponse,
    FakeSealedKeys,
    FakeUpstream,
    RecordingUsageSink,
    SentRequest,
)
from tollgate_proxy.testing.harness import PROVIDER_KEY, Exchange, Harness, call_asgi

__all__ = [
    "GRANT",
    "PROVIDER_KEY",
    "TENANT",
    "Answer",
    "DpopApp",
    "DpopAuth",
    "Exchange",
    "FakeClock",
    "FakeReadiness",
    "FakeResponse",
    "FakeSealedKeys",
    "FakeUpstream",
    "Harness",
    "RecordingUsageSink",
    "SentRequest",
    "Signer",
    "call_asgi",
    "make_api_key",
    "make_breaker",
    "make_budget",
    "make_credential",
    "make_grant",
    "make_revocation",
    "make_usage",
]
