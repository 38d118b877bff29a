"""KEKs and keyrings, from values, previous lists and private files: checked, never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tollgate_contracts.b64 import b64url_decode, b64url_encode
from tollgate_servicekit.keyring import (
    Kek,
    Keyring,
    KeyringError,
    UnknownKek,
    load_keyring,
    new_kek_text,
)

K1 = Kek("k1", bytes(range(32)))
K2 = Kek("k2", bytes(range(32, 64)))
ENV = "TOLLGATE_X_"


def load(
    *, kek: SecretStr | None = None, kek_id: str = "k1", previous: SecretStr | None = None, file: Path | None = None
) -> Keyring:
    return load_keyring(kek=kek, kek_id=kek_id, previous=previous, file=file, env=ENV, what="x KEK")


def test_keks_are_checked_and_never_shown() -> None:
    assert "k1" in repr(K1) and K1.key.hex() not in repr(K1) and str(K1.key) not in repr(Keyring(K1))
    for bad_id in ("", "has space", "a:b", "x" * 65):
        with pytest.raises(KeyringError):
            Kek(bad_id, bytes(32))
    with pytest.raises(KeyringError, match="32 bytes"):
        Kek("k1", bytes(16))
    with pytest.raises(KeyringError, match="twice"):
        Keyring(K1, [Kek("k1", bytes(32))])
    keyring = Keyring(K2, [K1])
    assert keyring.ids == ("k1", "k2") and keyring.current is K2 and keyring.get("k1") is K1
    with pytest.raises(UnknownKek, match="'k9'"):
        keyring.get("k9")


def test_a_new_kek_is_32_bytes_of_unpadded_base64url() -> None:
    text = new_kek_text()
    assert "=" not in text and len(b64url_decode(text)) == 32


def test_a_value_and_previous_keks_make_the_keyring() -> None:
    keyring = load(
        kek=SecretStr(b64url_encode(K2.key)), kek_id="k2", previous=SecretStr(f" k1:{b64url_encode(K1.key)} ,")
    )
    assert keyring.ids == ("k1", "k2") and keyring.current.key == K2.key


def test_a_missing_file_is_generated_0600_in_a_0700_directory_and_rotates_by_appending(tmp_path: Path) -> None:
    path = tmp_path / "home" / "x-kek"
    first = load(file=path)
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert load(file=path).current.key == first.current.key
    with path.open("a") as handle:
        handle.write(f"k2 {new_kek_text()}  # rotated\n")
    rotated = load(file=path)
    assert rotated.current.id == "k2" and rotated.get("k1").key == first.current.key


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "no x KEK configured: set TOLLGATE_X_KEK (base64url of 32 random bytes) or TOLLGATE_X_KEK_FILE"),
        ({"kek": SecretStr("c2hvcnQ")}, "TOLLGATE_X_KEK: KEK 'k1' must be 32 bytes"),
        ({"kek": SecretStr("not base64 at all!")}, "TOLLGATE_X_KEK: not base64url"),
        ({"kek": SecretStr(new_kek_text()), "file": Path("x")}, "set either TOLLGATE_X_KEK or TOLLGATE_X_KEK_FILE"),
        ({"kek": SecretStr(new_kek_text()), "previous": SecretStr("nocolon")}, "TOLLGATE_X_PREVIOUS_KEKS: expected"),
        ({"kek": SecretStr(new_kek_text()), "kek_id": "bad id"}, "TOLLGATE_X_KEK: a KEK id is"),
    ],
)
def test_an_unusable_setting_is_one_line_naming_it_and_never_the_value(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(KeyringError) as caught:
        load(**settings)
    text = str(caught.value)
    assert text.startswith(message), text
    assert "\n" not in text
    for value in settings.values():
        if isinstance(value, SecretStr):
            assert value.get_secret_value() not in text


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "holds no key"), ("# only a comment\n", "holds no key"), ("k1\n", "line 1: expected '<id> <base64url key>'")],
)
def test_a_broken_file_names_itself_and_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x-kek"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KeyringError, match=message):
        load(file=path)
