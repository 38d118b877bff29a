"""The sealed box of keyvault.seal.v1, checked against an unseal written independently from its documentation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tollgate_keyvault.domain.errors import InvalidRecipientKey
from tollgate_keyvault.domain.sealing import b64url_decode, b64url_encode, seal

SECRET = b"sk-ant-api03-abcdefghijklmnop"


def test_a_sealed_key_opens_with_the_recipients_private_key(
    recipient: X25519PrivateKey, public_key_of: Callable[[X25519PrivateKey], str], unseal: Callable[..., bytes]
) -> None:
    box = seal(SECRET, public_key_of(recipient), "crd_1")
    assert unseal(recipient, "crd_1", box.ephemeral_public_key, box.nonce, box.ciphertext) == SECRET


def test_the_wire_fields_are_base64url_without_padding(
    recipient: X25519PrivateKey, public_key_of: Callable[[X25519PrivateKey], str]
) -> None:
    box = seal(SECRET, public_key_of(recipient), "crd_1")
    for text in (box.ephemeral_public_key, box.nonce, box.ciphertext):
        assert "=" not in text and "+" not in text and "/" not in text
    assert len(b64url_decode(box.ephemeral_public_key)) == 32
    assert len(b64url_decode(box.nonce)) == 12
    assert len(b64url_decode(box.ciphertext)) == len(SECRET) + 16


def test_another_recipient_cannot_open_the_box(
    recipient: X25519PrivateKey, public_key_of: Callable[[X25519PrivateKey], str], unseal: Callable[..., bytes]
) -> None:
    box = seal(SECRET, public_key_of(recipient), "crd_1")
    with pytest.raises(InvalidTag):
        unseal(X25519PrivateKey.generate(), "crd_1", box.ephemeral_public_key, box.nonce, box.ciphertext)


def test_a_box_does_not_open_as_another_credentials_key(
    recipient: X25519PrivateKey, public_key_of: Callable[[X25519PrivateKey], str], unseal: Callable[..., bytes]
) -> None:
    box = seal(SECRET, public_key_of(recipient), "crd_1")
    with pytest.raises(InvalidTag):
        unseal(recipient, "crd_2", box.ephemeral_public_key, box.nonce, box.ciphertext)


def test_every_box_uses_a_fresh_ephemeral_key_and_nonce(
    recipient: X25519PrivateKey, public_key_of: Callable[[X25519PrivateKey], str]
) -> None:
    first, second = seal(SECRET, public_key_of(recipient), "crd_1"), seal(SECRET, public_key_of(recipient), "crd_1")
    assert first.ephemeral_public_key != second.ephemeral_public_key
    assert first.nonce != second.nonce


def test_padded_base64url_recipient_keys_are_accepted_too(
    recipient: X25519PrivateKey, public_key_of: Callable[[X25519PrivateKey], str], unseal: Callable[..., bytes]
) -> None:
    padded = public_key_of(recipient) + "="
    box = seal(SECRET, padded, "crd_1")
    assert unseal(recipient, "crd_1", box.ephemeral_public_key, box.nonce, box.ciphertext) == SECRET


@pytest.mark.parametrize(
    "bad_key",
    [
        "not base64 at all!",
        b64url_encode(b"\x01" * 31),
        b64url_encode(b"\x01" * 33),
        b64url_encode(bytes(32)),  # a low-order point: the shared secret would be all zeros
        "",
    ],
    ids=["garbage", "31-bytes", "33-bytes", "low-order-point", "empty"],
)
def test_unusable_recipient_keys_are_refused(bad_key: str) -> None:
    with pytest.raises(InvalidRecipientKey):
        seal(SECRET, bad_key, "crd_1")
