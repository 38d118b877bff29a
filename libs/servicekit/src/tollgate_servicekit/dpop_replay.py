"""What a DPoP verifier keeps between proofs (RFC 9449 §11.1, §8): the `jti`s it accepted, and its server nonces.

    replay = ReplayCache(max_entries=100_000)
    if not replay.first_use(f"{proof.jkt}:{proof.jti}", until=proof.iat + max_age, now=now):
        ...  # replayed

Pure: no clock (`now` is passed, epoch seconds), no I/O, no dependency. The cache is per replica and bounded: each
`jti` is kept until its proof would be refused as too old anyway, and when `max_entries` are live it refuses new
proofs (`full()`, which a service overrides to raise its own "busy, retry shortly" error) rather than forget a live
one, which would let that proof be replayed. Safe from several threads (auth's Authlib hooks run in worker threads;
on the proxy's event loop the lock is never contended).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import OrderedDict

__all__ = ["Nonces", "ReplayCache", "ReplayCacheFull"]


class ReplayCacheFull(Exception):
    """Too many live proofs to remember one more: the caller should answer "busy, retry shortly"."""


class ReplayCache:
    """The `jti`s of proofs this replica accepted, each until its proof would be refused as too old anyway."""

    def __init__(self, max_entries: int = 100_000, max_per_holder: int | None = None) -> None:
        """`max_per_holder` caps the live entries of one `holder` (a DPoP key's thumbprint), so one client flooding
        fresh proofs fills its own share and not the whole cache: the others' proofs are still taken."""
        self._max = max_entries
        self._max_per_holder = max_per_holder
        self._until: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        """Insertion order is nearly expiry order (every entry lives about one window), so expiry pops the front."""
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._until)

    def full(self) -> Exception:
        """The error raised when the cache is full; a service overrides it with its own."""
        return ReplayCacheFull("too many recent DPoP proofs; retry shortly")

    def first_use(self, key: str, *, until: float, now: float, holder: str | None = None) -> bool:
        """Remember `key` until `until` (epoch seconds); False if it is remembered already. `holder` is whose
        entry it is, for `max_per_holder`."""
        with self._lock:
            seen = self._until
            while seen and seen[next(iter(seen))][0] < now:
                _, (_, gone) = seen.popitem(last=False)
                if gone is not None:
                    self._release(gone)
            if key in seen:
                return False
            held = self._held.get(holder, 0) if holder is not None else 0
            if len(seen) >= self._max or (self._max_per_holder is not None and held >= self._max_per_holder):
                # Forgetting one would let it be replayed: new proofs wait instead.
                raise self.full()
            seen[key] = (until, holder)
            if holder is not None:
                self._held[holder] = held + 1
            return True

    def _release(self, holder: str) -> None:
        left = self._held[holder] - 1
        if left:
            self._held[holder] = left
        else:
            del self._held[holder]


class Nonces:
    """Server nonces without state: an HMAC of the time window under a secret. A nonce is accepted during its window
    and the next, so it lives one to two `period`s; replicas given the same secret accept each other's."""

    def __init__(self, secret: bytes, period: float = 300.0) -> None:
        self._secret = secret
        self._period = period

    def _of(self, window: int) -> str:
        digest = hmac.new(self._secret, window.to_bytes(8, "big"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")

    def current(self, now: float) -> str:
        return self._of(int(now // self._period))

    def accepted(self, now: float) -> tuple[str, str]:
        window = int(now // self._period)
        return self._of(window), self._of(window - 1)
