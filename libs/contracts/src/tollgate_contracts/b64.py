"""base64url as Tollgate writes it on the wire and in key files: no padding out, strict in.

One home for the encoding of the sealed box's fields (`tollgate_contracts.sealedbox`), the KEKs
(`tollgate_servicekit.keyring`) and JWK members (auth's signing keys). Pure standard library, so every package may
use it without an extra.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["b64url_decode", "b64url_encode"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without (correct) padding; ValueError for anything else.

    Refused: characters outside the url-safe alphabet (the standard alphabet's `+` and `/` included, which
    `b64decode(validate=True)` alone would let through), whitespace, and padding that does not complete a quantum.
    """
    bare = text.rstrip("=")
    padded = len(text) != len(bare)
    if (padded and (len(text) % 4 or len(text) - len(bare) > 2)) or not _ALPHABET.fullmatch(bare):
        raise ValueError("not valid base64url")
    try:
        return base64.b64decode(bare + "=" * (-len(bare) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise ValueError("not valid base64url") from None
