"""An app's side of DPoP (RFC 9449), for tests and examples: a key pair, the `cnf` claim a token bound to it
carries, and an `auth` for httpx / httpx2 clients that sends a token as `Authorization: DPoP` with a fresh proof.

    app = DpopApp.generate()
    token = signer.token(cnf=app.cnf)                       # what auth's token endpoint mints for a proof of this key
    client = openai.AsyncOpenAI(base_url=..., api_key="unused", http_client=httpx2.AsyncClient(auth=app.auth(token)))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from joserfc import jwk

from tollgate_servicekit.dpop import sign_proof


class _Headers(Protocol):
    def __setitem__(self, name: str, value: str) -> None: ...


class _Request(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def url(self) -> object: ...

    @property
    def headers(self) -> _Headers: ...


R = TypeVar("R", bound=_Request)


@dataclass(frozen=True)
class DpopAuth:
    """Callable `auth` of an httpx or httpx2 client (both take a request-to-request function): every request goes out
    with `Authorization: DPoP <token>` and a new proof for its method and URL."""

    key: jwk.Key
    token: str

    def __call__(self, request: R) -> R:
        request.headers["Authorization"] = f"DPoP {self.token}"
        request.headers["DPoP"] = sign_proof(
            self.key, method=request.method, url=str(request.url), access_token=self.token
        )
        return request


@dataclass(frozen=True)
class DpopApp:
    """A client's DPoP key pair."""

    key: jwk.Key

    @classmethod
    def generate(cls) -> DpopApp:
        return cls(jwk.generate_key("EC", "P-256"))

    @property
    def jkt(self) -> str:
        """The key's RFC 7638 thumbprint."""
        return self.key.thumbprint()

    @property
    def cnf(self) -> dict[str, str]:
        """The confirmation claim of a token bound to this key."""
        return {"jkt": self.jkt}

    def proof(
        self, method: str, url: str, token: str | None = None, *, nonce: str | None = None, iat: float | None = None
    ) -> str:
        """One proof for `method` `url` (with `ath` of `token` when given)."""
        return sign_proof(self.key, method=method, url=url, access_token=token, nonce=nonce, iat=iat)

    def auth(self, token: str) -> DpopAuth:
        return DpopAuth(self.key, token)
