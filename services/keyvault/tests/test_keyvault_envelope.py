"""Envelope encryption at rest: per-record data keys, AAD binding, KEK rotation.

The KEKs and the keyring themselves are servicekit's (`tollgate_servicekit.keyring`, tested there).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tollgate_keyvault.domain.envelope import Kek, Keyring, decrypt, encrypt, rewrap
from tollgate_keyvault.domain.errors import DecryptionFailed, UnknownKek
from tollgate_keyvault.testing import random_kek

SECRET = b"sk-test-0123456789abcdef"


def _flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


def test_a_secret_round_trips_through_its_envelope() -> None:
    keyring = Keyring(random_kek())
    envelope = encrypt(SECRET, "crd_1", keyring)
    assert decrypt(envelope, "crd_1", keyring) == SECRET
    assert envelope.kek_id == "k1"
    assert SECRET not in envelope.ciphertext + envelope.wrapped_key + envelope.nonce


def test_every_record_gets_its_own_data_key_and_nonce() -> None:
    keyring = Keyring(random_kek())
    first, second = encrypt(SECRET, "crd_1", keyring), encrypt(SECRET, "crd_1", keyring)
    assert first.ciphertext != second.ciphertext
    assert first.wrapped_key != second.wrapped_key
    assert first.nonce != second.nonce


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "wrapped_key"])
def test_tampering_with_any_stored_byte_fails(field: str) -> None:
    keyring = Keyring(random_kek())
    envelope = encrypt(SECRET, "crd_1", keyring)
    changes: dict[str, Any] = {field: _flip(getattr(envelope, field), 3)}
    tampered = replace(envelope, **changes)
    with pytest.raises(DecryptionFailed):
        decrypt(tampered, "crd_1", keyring)


def test_a_ciphertext_moved_to_another_record_does_not_decrypt() -> None:
    keyring = Keyring(random_kek())
    envelope = encrypt(SECRET, "crd_1", keyring)
    with pytest.raises(DecryptionFailed):
        decrypt(envelope, "crd_2", keyring)


def test_a_data_key_wrapped_for_one_record_does_not_open_another() -> None:
    keyring = Keyring(random_kek())
    first, second = encrypt(SECRET, "crd_1", keyring), encrypt(b"other", "crd_2", keyring)
    with pytest.raises(DecryptionFailed):
        decrypt(replace(second, wrapped_key=first.wrapped_key), "crd_2", keyring)


def test_relabelling_the_kek_id_fails_even_when_both_ids_hold_the_same_key() -> None:
    same = random_kek("k1").key
    keyring = Keyring(Kek("k2", same), [Kek("k1", same)])
    envelope = encrypt(SECRET, "crd_1", keyring)
    assert envelope.kek_id == "k2"
    with pytest.raises(DecryptionFailed):
        decrypt(replace(envelope, kek_id="k1"), "crd_1", keyring)


def test_a_wrong_kek_under_the_right_id_fails() -> None:
    envelope = encrypt(SECRET, "crd_1", Keyring(random_kek("k1")))
    with pytest.raises(DecryptionFailed):
        decrypt(envelope, "crd_1", Keyring(random_kek("k1")))


def test_an_unknown_kek_id_is_named_in_the_error() -> None:
    envelope = encrypt(SECRET, "crd_1", Keyring(random_kek("k1")))
    with pytest.raises(UnknownKek, match="'k1'"):
        decrypt(envelope, "crd_1", Keyring(random_kek("k2")))


def test_a_record_written_under_k1_still_decrypts_after_k2_becomes_current() -> None:
    k1, k2 = random_kek("k1"), random_kek("k2")
    envelope = encrypt(SECRET, "crd_1", Keyring(k1))
    rotated = Keyring(k2, [k1])
    assert decrypt(envelope, "crd_1", rotated) == SECRET
    assert encrypt(b"new", "crd_2", rotated).kek_id == "k2"


def test_rewrapping_moves_a_record_to_the_current_kek_so_the_old_one_can_go() -> None:
    k1, k2 = random_kek("k1"), random_kek("k2")
    envelope = encrypt(SECRET, "crd_1", Keyring(k1))
    moved = rewrap(envelope, "crd_1", Keyring(k2, [k1]))
    assert moved.kek_id == "k2"
    assert moved.ciphertext == envelope.ciphertext
    assert decrypt(moved, "crd_1", Keyring(k2)) == SECRET
