"""DPoP on the proxy (RFC 9449 §7): what a request must show to use a token bound to a key.

A token whose claims carry `cnf.jkt` is usable only as `Authorization: DPoP
<token>` with exactly one `DPoP` header: a proof (checked by
`tollgate_servicekit.dpop`) for this request's method and URL — the proxy's
public URL plus the path, whatever Host the request named — signed by the key
whose thumbprint is `cnf.jkt`, with `ath` of this very token, issued at most
`max_age` seconds ago, and never seen before on this replica. A bound token
sent as `Bearer` is refused, and so is a bearer token sent as `DPoP`: the scheme
must say what the token is.

With `Nonces`, a proof must also carry a recent server nonce (RFC 9449 §8);
the refusal that asks for one carries it (`DPoP-Nonce`).

The replay cache is per replica (RFC 9449 §11.1 allows it): each `jti` is kept
until its proof is too old to be accepted anyway, so memory is bounded by the
rate of bound requests times the window, and by `max_entries` on top. A proof
replayed to another replica within the window is not caught here; its `htu`,
`ath` and short window are what limit it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tollgate_contracts import ErrorCode
from tollgate_proxy.domain.errors import ProofRejected, Unavailable
from tollgate_servicekit import dpop_replay
from tollgate_servicekit.dpop import ALGORITHMS, ProofInvalid, check_proof
from tollgate_servicekit.dpop_replay import Nonces

LEEWAY_SECONDS = 5.0
"""How far ahead of this proxy's clock a proof's `iat` may be."""


@dataclass(frozen=True, slots=True)
class Presentation:
    """How a request presented its credential: the `Authorization` scheme and its DPoP proof headers."""

    dpop: bool
    """`Authorization: DPoP …`."""
    proofs: tuple[str, ...] = ()
    """The `DPoP` header values (RFC 9449 allows exactly one)."""
    method: str = "GET"
    path: str = "/"
    """The request path as sent (without the query)."""


BEARER = Presentation(dpop=False)
"""`Authorization: Bearer` or `x-api-key`: what nearly every request is, shared so none allocates one."""


class ReplayCache(dpop_replay.ReplayCache):
    """The `jti`s of proofs this replica accepted (servicekit's cache); full, the request is refused (503).

    One DPoP key may hold a tenth of it: a client flooding fresh proofs is refused on its own, and every other
    client's proofs are still taken."""

    def __init__(self, max_entries: int = 100_000) -> None:
        super().__init__(max_entries, max_per_holder=max(1, max_entries // 10))

    def full(self) -> Exception:
        # A flood of fresh proofs: forgetting one would let it be replayed, so new ones wait instead.
        return Unavailable(
            ErrorCode.RATE_LIMITED, "too many recent DPoP proofs on this proxy; retry shortly", retry_after=1
        )


class ProofPolicy:
    """Checks the proof of a bound token's request, and that bearer tokens are not dressed up as DPoP."""

    def __init__(
        self,
        *,
        public_url: str,
        max_age: float = 60.0,
        algorithms: Sequence[str] = ALGORITHMS,
        replay: ReplayCache | None = None,
        nonces: Nonces | None = None,
    ) -> None:
        self._origin = public_url.rstrip("/")
        self._max_age = max_age
        self.algorithms = tuple(algorithms)
        self._replay = replay if replay is not None else ReplayCache()
        self._nonces = nonces

    def check(self, token: str, jkt: str | None, presented: Presentation, now: float) -> None:
        """ProofRejected unless `presented` suits a token bound to `jkt` (None: a bearer token)."""
        if jkt is None:
            if presented.dpop:
                raise ProofRejected(
                    "this token is not DPoP-bound: send it as Authorization: Bearer", error="invalid_token"
                )
            return
        if not presented.dpop:
            raise ProofRejected(
                "this token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof", error="invalid_token"
            )
        if len(presented.proofs) != 1:
            raise ProofRejected("send exactly one DPoP proof header" if presented.proofs else "DPoP proof is missing")
        nonces = self._nonces
        try:
            proof = check_proof(
                presented.proofs[0],
                method=presented.method,
                url=self._origin + presented.path,
                now=now,
                access_token=token,
                max_age=self._max_age,
                leeway=LEEWAY_SECONDS,
                algorithms=self.algorithms,
                nonces=nonces.accepted(now) if nonces is not None else None,
            )
        except ProofInvalid as invalid:
            nonce = nonces.current(now) if nonces is not None and invalid.error == "use_dpop_nonce" else None
            raise ProofRejected(invalid.message, error=invalid.error, nonce=nonce) from None
        if proof.jkt != jkt:
            raise ProofRejected("DPoP proof is signed by another key than the token is bound to")
        if not self._replay.first_use(
            f"{proof.jkt}:{proof.jti}", until=proof.iat + self._max_age, now=now, holder=proof.jkt
        ):
            raise ProofRejected("DPoP proof has been used before")
