"""Token signing keys, their rotation, and the JWKS built from them. Pure: `now` comes in as an argument.

A key's life (`phase(key, now)`):

    pending ──published (PubAck)──▶ active ──superseded──▶ retiring ──not_after──▶ retired
    (stored, on the bus,            (signs)     (a newer key  (verifies only,       (off the JWKS; its last
     signs nothing yet)                          is active)    still published)      state says so)

- A new key is stored `pending`, published, and only then made `active`: no verifier ever meets a token whose
  `kid` it has not been sent. A key left pending (the bus was down) is published and activated later.
- Only the newest active key signs. Older active keys (another replica rotated at the same moment) are retired
  by the next check, so every replica converges on one signer.
- A retired key's `not_after` is when it stopped signing plus the overlap: the longest token lifetime plus the
  clock skew allowed (and how stale a replica's copy of the keys may be). Every token it signed expires first.
- Stored statuses are `pending`, `active` and `retired`; retiring versus retired is `now` against `not_after`,
  as the wire contract (`SigningKeyState`) says: a retired key verifies until `not_after`. Once `not_after` has
  passed, one more state (`finalize`) is published, so followers may drop the key rather than keep it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from tollgate_auth.domain.errors import NotFound
from tollgate_contracts import SigningKeyState, SigningKeyStatus


class SigningKeyNotFound(NotFound):
    code = "signing_key_not_found"


class KeyStatus(StrEnum):
    """What is stored (the same words as the wire's `SigningKeyStatus`, plus `pending`)."""

    PENDING = "pending"
    ACTIVE = "active"
    RETIRED = "retired"


class KeyPhase(StrEnum):
    """Where a key is in its life at a given instant."""

    PENDING = "pending"
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    public_jwk: Mapping[str, str]
    """The public key as a JWK, with `kid`, `alg` and `use` set."""
    private_pem: str = field(repr=False)
    """PKCS#8 PEM of the private key. Never published, never logged."""
    status: KeyStatus
    created_at: datetime
    updated_at: datetime
    not_after: datetime | None
    version: int


@dataclass(frozen=True)
class RotationPolicy:
    """When the signing key rotates and how long a retired key stays published."""

    rotate_after: timedelta
    """An active key signs this long, then a new key takes over."""
    overlap: timedelta
    """How long a retired key stays published: the longest token lifetime plus the clock skew allowed."""

    @classmethod
    def of(cls, *, rotate_after_seconds: int, longest_token_seconds: int, skew_seconds: int) -> RotationPolicy:
        if rotate_after_seconds <= 0 or longest_token_seconds <= 0 or skew_seconds < 0:
            raise ValueError("rotation periods must be positive (the skew may be zero)")
        return cls(timedelta(seconds=rotate_after_seconds), timedelta(seconds=longest_token_seconds + skew_seconds))


@dataclass(frozen=True)
class KeyPlan:
    """What a scheduled check has to do, given the keys and the time."""

    activate: tuple[SigningKey, ...] = ()
    """Pending keys: publish (PubAck), then activate."""
    retire: tuple[SigningKey, ...] = ()
    """Active keys a newer active key supersedes."""
    finalize: tuple[SigningKey, ...] = ()
    """Retired keys past `not_after` whose final state is not out yet."""
    rotate: bool = False
    """The signer is due for replacement (or there is none)."""

    @property
    def idle(self) -> bool:
        return not (self.activate or self.retire or self.finalize or self.rotate)


def phase(key: SigningKey, now: datetime) -> KeyPhase:
    if key.status is KeyStatus.PENDING:
        return KeyPhase.PENDING
    if key.status is KeyStatus.ACTIVE:
        return KeyPhase.ACTIVE
    if key.not_after is not None and key.not_after > now:
        return KeyPhase.RETIRING
    return KeyPhase.RETIRED


def verifies(key: SigningKey, now: datetime) -> bool:
    """Whether tokens signed by `key` may be accepted now, so the key is published (pending keys included: they
    are published before they sign)."""
    return phase(key, now) is not KeyPhase.RETIRED


def _newest(keys: Iterable[SigningKey]) -> SigningKey | None:
    return max(keys, key=lambda k: (k.created_at, k.kid), default=None)


def current_signer(keys: Iterable[SigningKey]) -> SigningKey | None:
    """The newest active key, which signs new tokens (a pending key never signs)."""
    return _newest(k for k in keys if k.status is KeyStatus.ACTIVE)


def jwks(keys: Iterable[SigningKey], now: datetime) -> dict[str, list[dict[str, str]]]:
    """The public JWK set: every key whose tokens may be accepted now (pending, active and retiring keys)."""
    return {"keys": [dict(k.public_jwk) for k in keys if verifies(k, now)]}


def activate(key: SigningKey, now: datetime) -> SigningKey | None:
    """Pending → active (call only once its state is acknowledged by the bus); None if it is not pending."""
    if key.status is not KeyStatus.PENDING:
        return None
    return replace(key, status=KeyStatus.ACTIVE, updated_at=now, version=key.version + 1)


def retire(key: SigningKey, now: datetime, policy: RotationPolicy) -> SigningKey | None:
    """Active → retired, verifying until `now + overlap`; None if it is not active."""
    if key.status is not KeyStatus.ACTIVE:
        return None
    return replace(
        key, status=KeyStatus.RETIRED, not_after=now + policy.overlap, updated_at=now, version=key.version + 1
    )


def needs_final_state(key: SigningKey, now: datetime) -> bool:
    """Retired, past `not_after`, and its last state was written before then (so it still reads "retiring")."""
    return phase(key, now) is KeyPhase.RETIRED and key.not_after is not None and key.updated_at < key.not_after


def finalize(key: SigningKey, now: datetime) -> SigningKey | None:
    """A new version of a retired key past `not_after`, stamped `now`: its state tells followers it is gone."""
    if not needs_final_state(key, now):
        return None
    return replace(key, updated_at=now, version=key.version + 1)


def superseded(keys: Iterable[SigningKey]) -> list[SigningKey]:
    """Active keys other than the newest active one."""
    active = [k for k in keys if k.status is KeyStatus.ACTIVE]
    signer = _newest(active)
    return [k for k in active if k is not signer]


def rotation_due(keys: Iterable[SigningKey], now: datetime, policy: RotationPolicy) -> bool:
    """No key signs or is about to, or the signer has signed for `rotate_after`. A pending key is completed
    rather than joined by another."""
    keys = list(keys)
    if any(k.status is KeyStatus.PENDING for k in keys):
        return False
    signer = current_signer(keys)
    return signer is None or now >= signer.created_at + policy.rotate_after


def plan(keys: Iterable[SigningKey], now: datetime, policy: RotationPolicy) -> KeyPlan:
    keys = list(keys)
    return KeyPlan(
        activate=tuple(k for k in keys if k.status is KeyStatus.PENDING),
        retire=tuple(superseded(keys)),
        finalize=tuple(k for k in keys if needs_final_state(k, now)),
        rotate=rotation_due(keys, now, policy),
    )


def wire_status(key: SigningKey) -> SigningKeyStatus:
    # A pending key is published as active: it is about to sign, and verifiers must know it before it does.
    return SigningKeyStatus.RETIRED if key.status is KeyStatus.RETIRED else SigningKeyStatus.ACTIVE


def signing_key_state(key: SigningKey, producer: str) -> SigningKeyState:
    return SigningKeyState(
        producer=producer,
        occurred_at=key.updated_at,
        state_version=key.version,
        kid=key.kid,
        alg=key.alg,
        jwk=dict(key.public_jwk),
        status=wire_status(key),
        not_after=key.not_after,
    )
