"""The `PasswordHasher` port on argon2-cffi: argon2id (RFC 9106), the library's default parameters.

A hash records its own parameters, so raising them later only changes new hashes; `verify` tells the caller
when a stored hash should be replaced (`needs_rehash`).
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Hasher:
    """argon2id with argon2-cffi's defaults (t=3, m=64 MiB, p=4); tests pass smaller costs."""

    def __init__(self, *, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        defaults = PasswordHasher()
        self._hasher = PasswordHasher(
            time_cost=time_cost or defaults.time_cost,
            memory_cost=memory_cost or defaults.memory_cost,
            parallelism=defaults.parallelism,
            type=Type.ID,
        )
        # Checked when the email is unknown, so an unknown account costs as much time as a wrong password. Made on
        # first use: building a hasher (every AuthService) should not cost a hash.
        self._decoy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash (unknown user), a decoy check of the same cost, then False."""
        try:
            if password_hash is None:
                self._decoy = self._decoy or self._hasher.hash("tollgate-decoy-password")
                self._hasher.verify(self._decoy, password)
                return False
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
