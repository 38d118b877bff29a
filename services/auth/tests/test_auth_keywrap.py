"""The encryption envelope of signing private keys (pure: no database, no randomness but what is passed in)."""

from __future__ import annotations

import itertools

import pytest

from tollgate_auth.domain.errors import KeyUnreadable, UnknownKek
from tollgate_auth.domain.keywrap import is_wrapped, needs_rewrap, unwrap, wrap, wrapped_kek_id
from tollgate_contracts.b64 import b64url_decode
from tollgate_servicekit.keyring import Kek, Keyring

K1 = Kek("k1", bytes(range(32)))
K2 = Kek("k2", bytes(range(32, 64)))
PRIVATE = (
    b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIPrivateKeyBytesForTheTest0123456\n-----END PRIVATE KEY-----\n"
)


def counting_bytes():
    counter = itertools.count()
    return lambda n: bytes(next(counter) % 256 for _ in range(n))


def test_a_wrapped_key_round_trips_and_shows_nothing_of_the_key():
    stored = wrap(PRIVATE, "kid-a", Keyring(K1), counting_bytes())
    assert stored.startswith("tgwrap1:k1:")
    assert is_wrapped(stored) and wrapped_kek_id(stored) == "k1"
    assert b"PRIVATE" not in stored.encode() and b"Private" not in b64url_decode(stored.split(":")[2])
    assert unwrap(stored, "kid-a", Keyring(K1)) == PRIVATE


def test_the_same_randomness_gives_the_same_value_and_fresh_randomness_another():
    first = wrap(PRIVATE, "kid-a", Keyring(K1), counting_bytes())
    assert wrap(PRIVATE, "kid-a", Keyring(K1), counting_bytes()) == first
    assert wrap(PRIVATE, "kid-a", Keyring(K1), lambda n: b"\x01" * n) != first


def test_a_wrong_kek_fails_loudly_naming_the_key_and_the_kek_but_no_secret():
    stored = wrap(PRIVATE, "kid-a", Keyring(K1), counting_bytes())
    impostor = Kek("k1", bytes(32))
    with pytest.raises(KeyUnreadable, match="signing key kid-a does not decrypt with KEK 'k1'") as caught:
        unwrap(stored, "kid-a", Keyring(impostor))
    assert impostor.key.hex() not in str(caught.value) and "PRIVATE" not in str(caught.value)


def test_a_value_moved_to_another_key_or_relabelled_to_another_kek_does_not_decrypt():
    stored = wrap(PRIVATE, "kid-a", Keyring(K1), counting_bytes())
    with pytest.raises(KeyUnreadable):
        unwrap(stored, "kid-b", Keyring(K1))
    same_bytes_other_id = Kek("k9", K1.key)
    relabelled = stored.replace(":k1:", ":k9:")
    with pytest.raises(KeyUnreadable):
        unwrap(relabelled, "kid-a", Keyring(same_bytes_other_id))


def test_a_value_under_a_kek_that_is_not_configured_names_that_kek():
    stored = wrap(PRIVATE, "kid-a", Keyring(K1), counting_bytes())
    with pytest.raises(UnknownKek, match="'k1'"):
        unwrap(stored, "kid-a", Keyring(K2))


@pytest.mark.parametrize("stored", ["tgwrap1:k1", "tgwrap1:k1:%%%", "tgwrap1:k1:AAAA", "tgwrap1:k1:a:b"])
def test_malformed_values_are_unreadable(stored):
    with pytest.raises(KeyUnreadable):
        unwrap(stored, "kid-a", Keyring(K1))


def test_rotation_an_older_kek_still_decrypts_and_marks_the_value_for_rewrapping():
    stored = wrap(PRIVATE, "kid-a", Keyring(K1), counting_bytes())
    rotated = Keyring(K2, [K1])
    assert needs_rewrap(stored, rotated) and not needs_rewrap(stored, Keyring(K1))
    assert unwrap(stored, "kid-a", rotated) == PRIVATE
    again = wrap(unwrap(stored, "kid-a", rotated), "kid-a", rotated, counting_bytes())
    assert wrapped_kek_id(again) == "k2" and not needs_rewrap(again, rotated)
    assert unwrap(again, "kid-a", Keyring(K2)) == PRIVATE


def test_a_clear_value_from_before_encryption_needs_wrapping_and_reads_as_it_is():
    clear = PRIVATE.decode()
    assert not is_wrapped(clear) and wrapped_kek_id(clear) is None
    assert needs_rewrap(clear, Keyring(K1))
    assert unwrap(clear, "kid-a", Keyring(K1)) == PRIVATE
