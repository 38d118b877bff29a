"""What the OAuth e2e tests share: an app's loopback redirect listener (RFC 8252), an owner account made with
`tollgate user create`, and the owner's side of the consent, in Chromium or over plain HTTP.

Imported by the test modules next to it (`from .oauth_flow import ...`); it has no tests of its own.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli
from tollgate_servicekit.testing import eventually

WELL_KNOWN_AS = "/.well-known/oauth-authorization-server"
WELL_KNOWN_PR = "/.well-known/oauth-protected-resource"


def details(**overrides: Any) -> list[dict[str, Any]]:
    """One `tollgate_ai_access` authorization detail (RFC 9396): gpt-4o-mini on openai, $5 in total."""
    detail: dict[str, Any] = {
        "type": "tollgate_ai_access",
        "provider": "openai",
        "models": ["gpt-4o-mini"],
        "budget": {"amount": "5.00", "currency": "USD", "period": "total"},
        "reason": "summarise my notes",
    }
    return [detail | overrides]


# --- the app's redirect URI -----------------------------------------------------------------------------------


@dataclass
class Loopback:
    """A native app's loopback redirect (RFC 8252 §7.3): an HTTP listener on a free port of 127.0.0.1 that keeps
    the query of every request to `/callback` (code, state, iss or error) and answers a plain page."""

    server: ThreadingHTTPServer
    answers: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def start(cls) -> Loopback:
        answers: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/callback":
                    answers.append({k: v[0] for k, v in parse_qs(url.query).items()})
                self.send_response(200 if url.path == "/callback" else 404)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"You can close this window.")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the query holds the code: keep it out of the test output

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return cls(server, answers)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/callback"

    async def answer(self, timeout: float = 30.0) -> dict[str, str]:  # noqa: ASYNC109 - a bounded wait
        """The first redirect's query parameters, once the browser (or a test) has followed it."""
        await eventually(lambda: self.answers, timeout=timeout, what="the redirect to the app's loopback URI")
        return self.answers[0]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Loopback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the owner ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    email: str
    password: str
    user: dict[str, Any]


def create_owner(cli: Cli, stack: Stack, handed_out: dict[str, str]) -> Owner:
    """A fresh owner account in the stack's tenant, made the documented way: `tollgate user create
    --password-stdin --json` (the password on stdin only)."""
    email = f"owner-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(18)
    handed_out[f"password of {email}"] = password
    user = cli.json("user", "create", "--email", email, "--password-stdin", "--tenant", stack.tenant_id, stdin=password)
    assert user["email"] == email and "password" not in user and "password_hash" not in user, user
    return Owner(email, password, user)


async def sign_in(page: Any, owner: Owner) -> None:
    """Fill in the sign-in page the browser is on, by its accessible names."""
    await page.get_by_label("Email").fill(owner.email)
    await page.get_by_label("Password").fill(owner.password)
    await page.get_by_role("button", name="Sign in").click()


async def consent_in_browser(
    page: Any,
    url: str,
    owner: Owner,
    *,
    budget_usd: str | None = None,
    provider: str | None = None,
    models: str | None = None,
    button: str = "Approve",
    shown: tuple[str, ...] = (),
) -> None:
    """Open the authorization URL in Chromium, sign in, check that every text in `shown` is on the consent page,
    change what is given, and press `button`."""
    await page.goto(url)
    await sign_in(page, owner)
    approve = page.get_by_role("button", name="Approve")
    await approve.wait_for()
    for text in shown:
        assert await page.get_by_text(text).first.is_visible(), f"{text!r} is not shown on the consent page"
    if provider is not None:
        await page.get_by_label("Provider").fill(provider)
    if models is not None:
        await page.get_by_label("Models").fill(models)
    if budget_usd is not None:
        await page.get_by_label("Budget (USD)").fill(budget_usd)
    await page.get_by_role("button", name=button).click()


# --- the owner over plain HTTP (the same forms a browser posts) ---------------------------------------------------


class _Forms(HTMLParser):
    """Every form on a page: its action and what a browser would send of it untouched (hidden and text inputs,
    checked boxes, the selected option)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), {}))
        elif not self.forms:
            return
        elif tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind in ("hidden", "text", "email") or (kind == "checkbox" and "checked" in a):
                self.forms[-1][1][a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select is not None and "selected" in a:
            self.forms[-1][1][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms_of(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


@dataclass
class HttpOwner:
    """The owner in a cookie-keeping HTTP client: signs in once, then answers consent pages as the browser would
    (the form's own hidden request id and CSRF token, the owner's changes on top)."""

    http: httpx.AsyncClient
    owner: Owner

    async def sign_in(self, auth_url: str) -> None:
        page = await self.http.get(f"{auth_url}/signin")
        assert page.status_code == 200, page.text
        [(action, fields)] = forms_of(page.text)
        fields |= {"email": self.owner.email, "password": self.owner.password}
        answer = await self.http.post(urljoin(str(page.url), action), data=fields)
        assert answer.status_code in (302, 303), answer.text

    async def consent_page(self, url: str) -> httpx.Response:
        page = await self.http.get(url)
        assert page.status_code == 200, f"{page.status_code}: {page.text}"
        return page

    async def answer(
        self, url: str, decision: str = "approve", *, unchecked: tuple[str, ...] = (), **changes: str
    ) -> httpx.Response:
        """Open the consent page at `url` and post the owner's answer (the boxes whose value is in `unchecked`
        cleared, the fields in `changes` changed); the response (a 303 to the app)."""
        page = await self.consent_page(url)
        [(action, fields)] = [form for form in forms_of(page.text) if "request_id" in form[1]]
        kept = {name: value for name, value in fields.items() if value not in unchecked}
        return await self.http.post(urljoin(str(page.url), action), data=kept | changes | {"decision": decision})


@dataclass
class App:
    """A public client registered on the stack's auth (RFC 7591), driving the code flow by hand over HTTP."""

    stack: Stack
    http: httpx.AsyncClient
    meta: dict[str, Any]
    client_id: str
    redirect_uri: str = "http://127.0.0.1:9/callback"  # never reached: the tests read the 303's Location

    @classmethod
    async def register(cls, stack: Stack, http: httpx.AsyncClient, name: str = "E2E App", **extra: Any) -> App:
        meta = (await http.get(stack.auth_url + WELL_KNOWN_AS)).json()
        body = {
            "client_name": name,
            "redirect_uris": [cls.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"],
            "token_endpoint_auth_method": "none",
        }
        registered = await http.post(meta["registration_endpoint"], json=body | extra)
        assert registered.status_code == 201, registered.text
        return cls(stack, http, meta, registered.json()["client_id"])

    def authorization_url(self, verifier: str, asked: list[dict[str, Any]] | None = None, **params: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": secrets.token_urlsafe(16),
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "resource": self.stack.proxy_url,
            **({"authorization_details": json.dumps(asked)} if asked is not None else {}),
            **params,
        }
        return f"{self.meta['authorization_endpoint']}?{urlencode(query)}"

    async def code(self, owner: HttpOwner, verifier: str, asked: list[dict[str, Any]] | None = None, **kw: Any) -> str:
        """The owner approves (with `kw` as their answer); the code the redirect carries."""
        redirect = await owner.answer(self.authorization_url(verifier, asked), **kw)
        assert redirect.status_code == 303, redirect.text
        answer = query_of(redirect.headers["location"])
        assert "code" in answer, answer
        return answer["code"]

    async def exchange(self, code: str, verifier: str, headers: dict[str, str] | None = None) -> httpx.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
            "resource": self.stack.proxy_url,
        }
        return await self.http.post(self.meta["token_endpoint"], data=data, headers=headers or {})

    async def token(self, owner: HttpOwner, asked: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
        """A fresh grant's token response: code flow, the owner approving with `kw`."""
        verifier = generate_token(48)
        answer = await self.exchange(await self.code(owner, verifier, asked, **kw), verifier)
        assert answer.status_code == 200, answer.text
        token: dict[str, Any] = answer.json()
        return token


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
