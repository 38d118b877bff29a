"""Keyvault test helpers: an independent unseal written from the box documented in `tollgate_contracts.rpc`."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tollgate_contracts import SEAL_INFO

Unseal = Callable[[X25519PrivateKey, str, str, str, str], bytes]


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unseal_box(
    recipient: X25519PrivateKey, credential_id: str, ephemeral_public_key: str, nonce: str, ciphertext: str
) -> bytes:
    """What a proxy does with a SealReply: X25519, HKDF-SHA256(salt = eph pub || own pub), AES-256-GCM(aad = id)."""
    ephemeral = _b64d(ephemeral_public_key)
    shared = recipient.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    own_public = recipient.public_key().public_bytes_raw()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + own_public, info=SEAL_INFO).derive(shared)
    return AESGCM(key).decrypt(_b64d(nonce), _b64d(ciphertext), credential_id.encode())


def public_b64(private: X25519PrivateKey) -> str:
    return base64.urlsafe_b64encode(private.public_key().public_bytes_raw()).rstrip(b"=").decode()


@pytest.fixture
def unseal() -> Unseal:
    return unseal_box


@pytest.fixture
def recipient() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


@pytest.fixture
def public_key_of() -> Callable[[X25519PrivateKey], str]:
    """The base64url (no padding) public key a proxy sends in `recipient_public_key`."""
    return public_b64
