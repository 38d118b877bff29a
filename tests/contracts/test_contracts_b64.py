"""base64url, the one encoding of the sealed box's fields, the KEKs and JWK members: unpadded out, strict in."""

from __future__ import annotations

import os

import pytest

from tollgate_contracts.b64 import b64url_decode, b64url_encode


def test_base64url_round_trips_without_padding() -> None:
    for size in range(40):
        raw = os.urandom(size)
        text = b64url_encode(raw)
        assert "=" not in text
        assert b64url_decode(text) == raw
    assert b64url_decode("AB==") == b64url_decode("AB") == b"\x00"


@pytest.mark.parametrize(
    "text", ["a+b/", "A", "AB=", "ABCD==", "AB===", "====", "ab cd", "ab\n", "not base64!", "A==="]
)
def test_only_base64url_with_correct_padding_decodes(text: str) -> None:
    with pytest.raises(ValueError):
        b64url_decode(text)
