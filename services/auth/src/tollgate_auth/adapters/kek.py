"""The keyring that encrypts signing private keys at rest, from the settings (servicekit's `load_keyring`).

- `TOLLGATE_AUTH_SIGNING_KEK` (base64url of 32 bytes, id `TOLLGATE_AUTH_SIGNING_KEK_ID`, default `k1`): what
  compose passes;
- `TOLLGATE_AUTH_SIGNING_KEK_FILE`: `<kek id> <base64url>` lines, the LAST one current; generated (mode 0600,
  directory 0700) when missing: what the embedded stack passes (`<stack home>/signing-kek`);
- `TOLLGATE_AUTH_SIGNING_PREVIOUS_KEKS` (`id:base64url,…`): older KEKs still needed to decrypt.

To rotate, make a new KEK current (append a line to the file, or set the new KEK and move the old one to
PREVIOUS_KEKS) and restart: stored keys are re-encrypted under it at start.
"""

from __future__ import annotations

from tollgate_auth.domain.errors import ConfigurationError
from tollgate_auth.settings import Settings
from tollgate_servicekit.keyring import Keyring, KeyringError, load_keyring

ENV = "TOLLGATE_AUTH_SIGNING_"


def load_signing_keyring(settings: Settings) -> Keyring:
    """The keyring the settings describe (a missing KEK file is generated); `ConfigurationError`, one line naming
    what to set and never a value, when there is no KEK or it is malformed."""
    try:
        return load_keyring(
            kek=settings.signing_kek,
            kek_id=settings.signing_kek_id,
            previous=settings.signing_previous_keks,
            file=settings.signing_kek_file,
            env=ENV,
            what="signing-key KEK",
        )
    except KeyringError as exc:
        raise ConfigurationError(str(exc)) from None
