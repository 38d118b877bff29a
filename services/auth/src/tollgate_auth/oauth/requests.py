"""Authlib's request objects over a Starlette request read in full beforehand (Authlib cannot await a body)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request
from starlette.datastructures import FormData, Headers, QueryParams
from starlette.requests import Request

SAFE_URI = "https://localhost/"
"""Handed to Authlib's constructor in place of the real URI, which is set right after: transport security is the
deployment's (TLS terminates in front of auth), and Authlib's own check would refuse the plain-HTTP default."""


class Payload(OAuth2Payload):  # type: ignore[misc]
    """Query and form parameters together (form wins), each name with all its values (duplicates are refused by
    the grants, RFC 6749 §3.1)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[-1] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class CapturedRequest(OAuth2Request):  # type: ignore[misc]
    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        args: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method, SAFE_URI, headers=headers)
        self.uri = uri
        self._args = dict(args)
        self._form = dict(form)
        self.payload = Payload(args + form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class CapturedJsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


class CapturedJsonRequest(JsonRequest):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: Mapping[str, str], data: dict[str, Any]) -> None:
        super().__init__(method, SAFE_URI, headers)
        self.uri = uri
        self.payload = CapturedJsonPayload(data)


def _pairs(params: QueryParams | FormData) -> list[tuple[str, str]]:
    return [(k, v) for k, v in params.multi_items() if isinstance(v, str)]


def public_uri(public_url: str, request: Request) -> str:
    """The request's URI as the app addressed it: auth's public URL, this path and query."""
    query = request.url.query
    return public_url + request.url.path + (f"?{query}" if query else "")


async def capture(request: Request, public_url: str) -> CapturedRequest:
    form = _pairs(await request.form()) if request.method == "POST" else []
    return CapturedRequest(
        # Starlette's headers, not a dict: Authlib asks for `Authorization`, HTTP/2 and ASGI spell it lowercase.
        request.method,
        public_uri(public_url, request),
        request.headers,
        _pairs(request.query_params),
        form,
    )


def rebuilt(public_url: str, path: str, params: dict[str, str]) -> CapturedRequest:
    """A GET authorization request made again from its stored parameters (after consent, or from a PAR)."""
    return CapturedRequest("GET", public_url + path, Headers(), list(params.items()), [])
