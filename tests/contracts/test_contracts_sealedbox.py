"""The sealed box of keyvault.seal.v1: a fixed known-answer vector, and the ways a box must refuse to open.

The known answer uses the X25519 key pairs of RFC 7748 section 6.1 (Alice as keyvault's ephemeral key, Bob as the
proxy), so the shared secret is the RFC's; the HKDF step is recomputed here with the standard library's HMAC, and
the wire fields were produced by the keyvault and proxy code this module replaced: the wire format did not change.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tollgate_contracts import SEAL_INFO
from tollgate_contracts.b64 import b64url_decode, b64url_encode
from tollgate_contracts.sealedbox import (
    InvalidRecipientKey,
    SealedBox,
    SealError,
    box_key,
    open_box,
    public_bytes,
    public_key_text,
    seal,
    unseal,
)

# RFC 7748 section 6.1.
EPHEMERAL_PRIVATE = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
EPHEMERAL_PUBLIC = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
RECIPIENT_PRIVATE = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
RECIPIENT_PUBLIC = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
SHARED = bytes.fromhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")

NONCE = bytes(range(12))
SECRET = b"sk-test-known-answer-0001"
CREDENTIAL_ID = "crd_0000000000000000000000kat"

BOX_KEY = bytes.fromhex("8d4253db64ae83e18eaf8ba2d649708bcfad39977e5ad6b7ca617f77c7c8d1ef")
KNOWN_BOX = SealedBox(
    ephemeral_public_key="hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo",
    nonce="AAECAwQFBgcICQoL",
    ciphertext="hOfPBk2xQDKAgP1mqT6uSndBOUDB6S253RLbxmIdhr0Y5n8lQXcjZB8",
)
KNOWN_CIPHERTEXT = bytes.fromhex("84e7cf064db140328080fd66a93eae4a77413940c1e92db9dd12dbc6621d86bd18e67f25417723641f")


def fixed_random(*chunks: bytes) -> Iterator[bytes]:
    return iter(chunks)


def known_seal() -> SealedBox:
    stream = fixed_random(EPHEMERAL_PRIVATE, NONCE)

    def random_bytes(size: int) -> bytes:
        chunk = next(stream)
        assert len(chunk) == size
        return chunk

    return seal(SECRET, b64url_encode(RECIPIENT_PUBLIC), CREDENTIAL_ID, random_bytes=random_bytes)


@pytest.fixture
def recipient() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def test_the_known_answer_vector_gives_exactly_these_bytes() -> None:
    box = known_seal()
    assert box == KNOWN_BOX
    assert b64url_decode(box.ephemeral_public_key) == EPHEMERAL_PUBLIC
    assert b64url_decode(box.nonce) == NONCE
    assert b64url_decode(box.ciphertext) == KNOWN_CIPHERTEXT
    assert len(KNOWN_CIPHERTEXT) == len(SECRET) + 16


def test_the_known_answer_key_is_the_documented_hkdf_of_the_rfc_7748_secret() -> None:
    recipient = X25519PrivateKey.from_private_bytes(RECIPIENT_PRIVATE)
    assert public_bytes(recipient.public_key()) == RECIPIENT_PUBLIC
    assert X25519PrivateKey.from_private_bytes(EPHEMERAL_PRIVATE).exchange(recipient.public_key()) == SHARED
    # HKDF-SHA256 (RFC 5869) by hand: one block of output is all a 32-byte key needs.
    prk = hmac.new(EPHEMERAL_PUBLIC + RECIPIENT_PUBLIC, SHARED, hashlib.sha256).digest()
    expected = hmac.new(prk, SEAL_INFO + b"\x01", hashlib.sha256).digest()
    assert box_key(SHARED, EPHEMERAL_PUBLIC, RECIPIENT_PUBLIC) == expected == BOX_KEY


def test_the_known_answer_box_opens_for_its_recipient_only() -> None:
    recipient = X25519PrivateKey.from_private_bytes(RECIPIENT_PRIVATE)
    assert open_box(recipient, KNOWN_BOX, CREDENTIAL_ID) == SECRET
    fields = {"ephemeral_public_key": KNOWN_BOX.ephemeral_public_key, "nonce": KNOWN_BOX.nonce}
    assert unseal(recipient, **fields, ciphertext=KNOWN_BOX.ciphertext, credential_id=CREDENTIAL_ID) == SECRET.decode()
    with pytest.raises(SealError):
        open_box(X25519PrivateKey.from_private_bytes(EPHEMERAL_PRIVATE), KNOWN_BOX, CREDENTIAL_ID)


def test_a_sealed_key_opens_with_the_recipients_private_key(recipient: X25519PrivateKey) -> None:
    box = seal(SECRET, public_key_text(recipient), "crd_1")
    assert open_box(recipient, box, "crd_1") == SECRET


def test_the_wire_fields_are_base64url_without_padding(recipient: X25519PrivateKey) -> None:
    box = seal(SECRET, public_key_text(recipient), "crd_1")
    for text in (box.ephemeral_public_key, box.nonce, box.ciphertext):
        assert "=" not in text and "+" not in text and "/" not in text
    assert len(b64url_decode(box.ephemeral_public_key)) == 32
    assert len(b64url_decode(box.nonce)) == 12
    assert len(b64url_decode(box.ciphertext)) == len(SECRET) + 16


def test_another_recipient_cannot_open_the_box(recipient: X25519PrivateKey) -> None:
    box = seal(SECRET, public_key_text(recipient), "crd_1")
    with pytest.raises(SealError):
        open_box(X25519PrivateKey.generate(), box, "crd_1")


def test_a_box_does_not_open_as_another_credentials_key(recipient: X25519PrivateKey) -> None:
    box = seal(SECRET, public_key_text(recipient), "crd_1")
    with pytest.raises(SealError):
        open_box(recipient, box, "crd_2")


@pytest.mark.parametrize("field", ["ephemeral_public_key", "nonce", "ciphertext"])
def test_a_flipped_bit_in_any_field_is_a_seal_error(recipient: X25519PrivateKey, field: str) -> None:
    box = seal(SECRET, public_key_text(recipient), "crd_1")
    raw = bytearray(b64url_decode(getattr(box, field)))
    raw[0] ^= 1
    tampered = SealedBox(**{**box.__dict__, field: b64url_encode(bytes(raw))})
    with pytest.raises(SealError):
        open_box(recipient, tampered, "crd_1")


@pytest.mark.parametrize(
    "changes",
    [
        {"ephemeral_public_key": "not base64!"},
        {"ephemeral_public_key": b64url_encode(bytes(31))},
        {"ephemeral_public_key": b64url_encode(bytes(32))},  # low-order point: no shared secret
        {"nonce": ""},
        {"ciphertext": "AAAA"},
    ],
    ids=["garbage", "short-key", "low-order-key", "empty-nonce", "short-ciphertext"],
)
def test_malformed_boxes_are_seal_errors(recipient: X25519PrivateKey, changes: dict[str, str]) -> None:
    box = seal(SECRET, public_key_text(recipient), "crd_1")
    with pytest.raises(SealError):
        open_box(recipient, SealedBox(**{**box.__dict__, **changes}), "crd_1")


def test_a_box_that_is_not_utf8_text_does_not_unseal_as_a_provider_key(recipient: X25519PrivateKey) -> None:
    box = seal(b"\xff\xfe", public_key_text(recipient), "crd_1")
    with pytest.raises(SealError):
        unseal(recipient, **box.__dict__, credential_id="crd_1")


def test_every_box_uses_a_fresh_ephemeral_key_and_nonce(recipient: X25519PrivateKey) -> None:
    first, second = seal(SECRET, public_key_text(recipient), "crd_1"), seal(SECRET, public_key_text(recipient), "crd_1")
    assert first.ephemeral_public_key != second.ephemeral_public_key
    assert first.nonce != second.nonce


def test_padded_base64url_recipient_keys_are_accepted_too(recipient: X25519PrivateKey) -> None:
    box = seal(SECRET, public_key_text(recipient) + "=", "crd_1")
    assert open_box(recipient, box, "crd_1") == SECRET


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
    with pytest.raises(InvalidRecipientKey) as refused:
        seal(SECRET, bad_key, "crd_1")
    assert SECRET.decode() not in str(refused.value)
