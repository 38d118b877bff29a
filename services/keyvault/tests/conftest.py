"""Keyvault test helpers: what a proxy does with a `SealReply`, through the one sealed box (`tollgate_contracts`).

The box itself is pinned by a known-answer vector in `tests/contracts/test_contracts_sealedbox.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tollgate_contracts.sealedbox import SealedBox, open_box, public_key_text

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
