"""Keyvault test helpers: what a proxy does with a `SealReply`, through the one sealed box (`tollgate_contracts`),
and the streams and tenants auth would have created.

The box itself is pinned by a known-answer vector in `tests/contracts/test_contracts_sealedbox.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import nats
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tollgate_contracts.bus import ensure_streams
from tollgate_contracts.sealedbox import SealedBox, open_box, public_key_text
from tollgate_keyvault.testing import publish_tenants, tenant_state
from tollgate_servicekit.natsserver import NatsServer

Unseal = Callable[[X25519PrivateKey, str, str, str, str], bytes]


def unseal_box(
    recipient: X25519PrivateKey, credential_id: str, ephemeral_public_key: str, nonce: str, ciphertext: str
) -> bytes:
    """Open a box from a SealReply's fields, as the proxy does."""
    return open_box(recipient, SealedBox(ephemeral_public_key, nonce, ciphertext), credential_id)


@pytest.fixture
def unseal() -> Unseal:
    return unseal_box


@pytest.fixture
def recipient() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


@pytest.fixture
def public_key_of() -> Callable[[X25519PrivateKey], str]:
    """The base64url (no padding) public key a proxy sends in `recipient_public_key`."""
    return public_key_text


CreateStreams = Callable[[str], Awaitable[None]]


async def _create_streams(url: str) -> None:
    nc = await nats.connect(url)
    try:
        await ensure_streams(nc.jetstream())
    finally:
        await nc.drain()


@pytest.fixture
def create_streams() -> CreateStreams:
    """What auth does at start for everyone (keyvault itself only waits for its streams to exist)."""
    return _create_streams


KNOWN_TENANTS = ("tnt_1", "tnt_2", "t")
"""The tenants `streams` publishes as active, as auth would have: the ones these tests store credentials for."""


@pytest.fixture
async def streams(fresh_nats: NatsServer) -> NatsServer:
    """A fresh nats-server with every Tollgate stream created and `KNOWN_TENANTS` published (as the harness)."""
    await _create_streams(fresh_nats.url)
    await publish_tenants(fresh_nats.url, *(tenant_state(tenant_id) for tenant_id in KNOWN_TENANTS))
    return fresh_nats
