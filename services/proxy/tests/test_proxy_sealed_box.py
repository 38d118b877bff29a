"""The sealed-key box, sealed here exactly as `tollgate_contracts.rpc` documents and opened by the proxy."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tollgate_contracts import SEAL_INFO
from tollgate_proxy.domain.sealed_box import SealError, b64url_decode, b64url_encode, unseal


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def seal(plaintext: str, recipient_public: bytes, credential_id: str) -> dict[str, str]:
    """Keyvault's side of the box, written from the contract's docstring."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    key = HKDF(hashes.SHA256(), 32, salt=ephemeral_public + recipient_public, info=SEAL_INFO).derive(shared)
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode(), credential_id.encode())
    return {"ephemeral_public_key": b64(ephemeral_public), "nonce": b64(nonce), "ciphertext": b64(ciphertext)}


@pytest.fixture
def recipient() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def public_of(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_a_sealed_key_opens_for_its_recipient(recipient: X25519PrivateKey) -> None:
    box = seal("sk-live-123", public_of(recipient), "crd_1")
    assert unseal(recipient, credential_id="crd_1", **box) == "sk-live-123"


def test_the_box_is_bound_to_the_credential_id(recipient: X25519PrivateKey) -> None:
    box = seal("sk-live-123", public_of(recipient), "crd_1")
    with pytest.raises(SealError):
        unseal(recipient, credential_id="crd_2", **box)


def test_another_recipient_cannot_open_it(recipient: X25519PrivateKey) -> None:
    box = seal("sk-live-123", public_of(recipient), "crd_1")
    with pytest.raises(SealError):
        unseal(X25519PrivateKey.generate(), credential_id="crd_1", **box)


def test_tampering_or_garbage_is_a_seal_error(recipient: X25519PrivateKey) -> None:
    box = seal("sk-live-123", public_of(recipient), "crd_1")
    flipped = bytearray(b64url_decode(box["ciphertext"]))
    flipped[0] ^= 1
    with pytest.raises(SealError):
        unseal(recipient, credential_id="crd_1", **{**box, "ciphertext": b64url_encode(bytes(flipped))})
    with pytest.raises(SealError):
        unseal(recipient, credential_id="crd_1", **{**box, "ephemeral_public_key": "not base64!"})


def test_base64url_round_trips_without_padding() -> None:
    for size in range(0, 40):
        raw = os.urandom(size)
        text = b64url_encode(raw)
        assert "=" not in text
        assert b64url_decode(text) == raw
