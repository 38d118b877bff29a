"""Auth's pages over HTTP: sign-in, sessions, CSRF, security headers, and the consent and device pages rendered
from a `ConsentView` (through a small route of this test's own)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse

from tollgate_auth.app import create_app
from tollgate_auth.domain.consent import AccessDetails, BudgetPeriod, ConsentView
from tollgate_auth.web.forms import InvalidChoice
from tollgate_auth.web.pages import consent_page, device_page, parse_consent_form
from tollgate_auth.web.session import check_csrf, current_owner, signin_redirect
from tollgate_contracts import Capability

from .conftest import running

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
REDIRECT = "http://localhost:5173/callback"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
ASKED = AccessDetails(
    provider="openai",
    models=("gpt-4o-mini", "gpt-4.1-*"),
    capabilities=(Capability.CHAT, Capability.EMBEDDINGS),
    budget_micro_usd=5_000_000,
    budget_period=BudgetPeriod.DAY,
    max_requests=1000,
    expires_in_seconds=30 * 86_400,
    reason="Summarise your notes every night",
)
VIEW = ConsentView(
    request_id="req_1",
    action="/test/consent",
    client_name="Notes Summariser",
    verified_domain="notes.example",
    asked=ASKED,
    needs_provider_and_models=False,
)
OPEN_VIEW = ConsentView(
    request_id="req_2",
    action="/test/consent",
    client_name="Some MCP client",
    verified_domain=None,
    asked=AccessDetails(budget_micro_usd=1_000_000),
    needs_provider_and_models=True,
)


class Page(HTMLParser):
    """What a test reads off a page: labels → control names, buttons, hidden fields, forms."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: dict[str, dict[str, str]] = {}
        self.labels: dict[str, str] = {}
        self.buttons: list[str] = []
        self.hidden: dict[str, str] = {}
        self.forms: list[dict[str, str]] = []
        self._label_for: str | None = None
        self._button = False
        self._text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids[a["id"]] = a
        if tag == "label":
            self._label_for, self._text = a.get("for"), ""
        if tag == "button":
            self._button, self._text = True, ""
        if tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        if tag == "form":
            self.forms.append(a)

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_for:
            self.labels[" ".join(self._text.split())] = self._label_for
            self._label_for = None
        if tag == "button" and self._button:
            self.buttons.append(" ".join(self._text.split()))
            self._button = False

    def control(self, label: str) -> dict[str, str]:
        return self.ids[self.labels[label]]


def add_test_consent(app: FastAPI, view: ConsentView) -> None:
    """GET shows `view` to a signed-in owner; POST answers with a redirect to the app's redirect URI (REDIRECT, or
    `app.state.test_redirect`) naming what was read; GET /cb shows what arrived there."""

    def target(request: Request) -> str:
        return getattr(request.app.state, "test_redirect", REDIRECT)

    async def show(request: Request) -> Response:
        if await current_owner(request) is None:
            return signin_redirect(request)
        return consent_page(request, view, redirect_uri=target(request))

    async def answer(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        check_csrf(request, form)
        try:
            decision, choice = parse_consent_form(form)
        except InvalidChoice as exc:
            return consent_page(request, view, redirect_uri=target(request), message=exc.message, status_code=422)
        query = f"decision={decision.value}&budget={choice.budget_micro_usd}&models={','.join(choice.models or ())}"
        return RedirectResponse(f"{target(request)}?{query}", status_code=303)

    async def landed(request: Request) -> Response:
        return PlainTextResponse(f"the app got {request.url.query}")

    async def device(request: Request) -> Response:
        code = request.query_params.get("user_code")
        known = code == "WDJB-MJHT"
        message = "That code is unknown or expired." if code and not known else None
        return device_page(request, user_code=code, view=view if known else None, message=message)

    app.add_api_route("/test/consent", show, methods=["GET"])
    app.add_api_route("/test/consent", answer, methods=["POST"])
    app.add_api_route("/test/device", device, methods=["GET"])
    app.add_api_route("/cb", landed, methods=["GET"])


def web_app(make_settings: Any, view: ConsentView = VIEW, **settings: Any) -> FastAPI:
    app = create_app(make_settings(password_hash_time_cost=1, password_hash_memory_kib=64, **settings))
    add_test_consent(app, view)
    return app


@pytest.fixture
async def web(make_settings, admin_key):
    async with running(web_app(make_settings), admin_key=admin_key) as client:
        body = {"email": "owner@example.com", "password": PASSWORD}
        assert (await client.post("/v1/users", json=body)).status_code == 201
        client.headers.pop("Authorization")
        yield client


async def sign_in(client: httpx.AsyncClient, next_path: str | None = None, password: str = PASSWORD) -> httpx.Response:
    page = Page((await client.get("/signin", params={"next": next_path} if next_path else None)).text)
    form = {**page.hidden, "email": "Owner@Example.com", "password": password}
    return await client.post("/signin", data=form)


def assert_secure_html(answer: httpx.Response, csp: str = CSP) -> None:
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    assert not re.search(r"<script|\sstyle=|\son\w+=", answer.text, re.IGNORECASE)


async def test_the_sign_in_page_is_labelled_and_sends_every_security_header(web) -> None:
    answer = await web.get("/signin")
    assert answer.status_code == 200
    assert_secure_html(answer)
    page = Page(answer.text)
    assert page.control("Email")["name"] == "email" and page.control("Email")["type"] == "email"
    assert page.control("Password")["type"] == "password"
    assert page.buttons == ["Sign in"]
    assert page.hidden["csrf"]
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("tollgate_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie and "Secure" not in cookie
    css = await web.get("/static/tollgate.css")
    assert css.headers["content-type"].startswith("text/css") and css.headers["x-content-type-options"] == "nosniff"


async def test_signing_in_issues_a_fresh_session_id_and_returns_to_next(web) -> None:
    await web.get("/signin")
    before = web.cookies["tollgate_session"]
    answer = await sign_in(web, "/test/consent?x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/test/consent?x=1"
    after = web.cookies["tollgate_session"]
    assert after != before
    assert "Max-Age=43200" in answer.headers["set-cookie"]
    consent = await web.get("/test/consent")
    assert consent.status_code == 200
    assert "owner@example.com" in consent.text
    # Signed in already: the sign-in page sends the browser straight on, or says who is signed in.
    again = await web.get("/signin", params={"next": "/test/consent"})
    assert (again.status_code, again.headers["location"]) == (303, "/test/consent")
    assert "You are signed in as" in (await web.get("/signin")).text


async def test_a_wrong_password_and_an_unknown_email_get_the_same_one_message(web) -> None:
    wrong = await sign_in(web, password="not the password at all")
    await web.get("/signin")
    page = Page((await web.get("/signin")).text)
    unknown = await web.post("/signin", data={**page.hidden, "email": "nobody@example.com", "password": PASSWORD})
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert_secure_html(answer)
        assert "Wrong email or password." in answer.text
        assert PASSWORD not in answer.text
    assert (await web.get("/test/consent")).status_code == 303


async def test_a_throttled_email_gets_429_with_retry_after_and_no_password_check(web) -> None:
    for _ in range(10):
        assert (await sign_in(web, password="not the password at all")).status_code == 401
    answer = await sign_in(web)
    assert answer.status_code == 429
    assert_secure_html(answer)
    assert "Too many failed sign-ins for this email. Try again in 10 minutes." in answer.text
    assert 590 <= int(answer.headers["retry-after"]) <= 601


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"])
async def test_next_only_ever_leads_to_a_local_path(web, target) -> None:
    answer = await sign_in(web, target)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin"


async def test_a_page_that_needs_an_owner_sends_the_browser_to_sign_in_and_back(web) -> None:
    answer = await web.get("/test/consent", params={"a": "1"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=" + quote("/test/consent?a=1", safe="")


async def test_a_form_post_without_this_sessions_csrf_token_is_a_403_page(web) -> None:
    await sign_in(web)
    valid = Page((await web.get("/test/consent")).text).hidden
    for form in (
        {k: v for k, v in valid.items() if k != "csrf"},
        {**valid, "csrf": "forged"},
        {**valid, "csrf": valid["csrf"][:-1]},
    ):
        for path in ("/test/consent", "/signout", "/signin"):
            answer = await web.post(path, data={**form, "decision": "approve", "email": "x", "password": "y"})
            assert answer.status_code == 403, (path, form)
            assert_secure_html(answer)
            assert "Form refused" in answer.text
    # Another browser's token is no good here either.
    async with httpx.AsyncClient(transport=web._transport, base_url="http://auth") as other:
        foreign = Page((await other.get("/signin")).text).hidden["csrf"]
    assert (await web.post("/test/consent", data={**valid, "csrf": foreign})).status_code == 403


async def test_signing_out_ends_the_session_server_side(web) -> None:
    await sign_in(web)
    old = web.cookies["tollgate_session"]
    page = Page((await web.get("/test/consent")).text)
    assert "Sign out" in page.buttons
    answer = await web.post("/signout", data={"csrf": page.hidden["csrf"]})
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    assert "tollgate_session" not in web.cookies
    web.cookies.set("tollgate_session", old)
    assert (await web.get("/test/consent")).status_code == 303


async def test_the_consent_page_shows_who_why_and_exactly_what_with_labelled_narrowing(web) -> None:
    await sign_in(web)
    answer = await web.get("/test/consent")
    assert_secure_html(answer, CSP.replace("form-action 'self'", "form-action 'self' http://localhost:5173"))
    text = " ".join(re.sub(r"<[^>]+>", " ", answer.text).split())
    for shown in ("Notes Summariser", "Verified domain: notes.example", "Summarise your notes every night", "openai",
                  "gpt-4o-mini, gpt-4.1-*", "chat, embeddings", "$5 per day", "1000", "after 30d"):  # fmt: skip
        assert shown in text, shown
    page = Page(answer.text)
    assert page.control("Budget (USD)")["value"] == "5"
    assert page.control("Max requests")["value"] == "1000"
    assert page.control("Expires after")["value"] == "30d"
    assert page.control("gpt-4o-mini")["type"] == "checkbox"
    assert page.control("chat")["type"] == "checkbox" and page.control("embeddings")["name"] == "capability_1"
    assert page.control("Budget period")["name"] == "budget_period"
    options = re.findall(r'<option value="(\w+)"( selected)?', answer.text)
    assert options == [("day", " selected"), ("month", ""), ("total", "")]  # never wider than asked
    assert page.control("Requests per minute")["value"] == "" and page.control("Tokens per minute")["name"] == "tpm"
    assert "Provider" not in page.labels and "Models" not in page.labels
    assert page.buttons[-2:] == ["Approve", "Deny"]
    assert page.forms[-1]["action"] == "/test/consent" and page.hidden["request_id"] == "req_1"


async def test_the_owner_narrows_and_the_form_reads_back(web) -> None:
    await sign_in(web)
    hidden = Page((await web.get("/test/consent")).text).hidden
    form = {**hidden, "decision": "approve", "budget_usd": "1.25", "model_0": "gpt-4o-mini", "capability_0": "chat"}
    answer = await web.post("/test/consent", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{REDIRECT}?decision=approve&budget=1250000&models=gpt-4o-mini"
    bad = await web.post("/test/consent", data={**hidden, "decision": "approve", "budget_usd": "lots"})
    assert bad.status_code == 422 and "not an amount in dollars" in bad.text
    denied = await web.post("/test/consent", data={**hidden, "decision": "deny"})
    assert denied.headers["location"].startswith(f"{REDIRECT}?decision=deny")


async def test_a_request_naming_no_provider_or_models_asks_for_them(make_settings, admin_key) -> None:
    async with running(web_app(make_settings, OPEN_VIEW), admin_key=admin_key) as client:
        await client.post("/v1/users", json={"email": "owner@example.com", "password": PASSWORD})
        await sign_in(client)
        html = (await client.get("/test/consent")).text
    page = Page(html)
    assert page.control("Provider")["name"] == "provider"
    assert page.control("Models")["name"] == "models"
    assert page.control("Budget (USD)")["value"] == "1"
    assert "This app's identity is not verified by a domain." in html


async def test_the_device_page_asks_for_the_code_then_shows_the_consent_form(web) -> None:
    await sign_in(web)
    first = await web.get("/test/device")
    assert_secure_html(first)
    page = Page(first.text)
    assert page.control("Code shown on your device")["name"] == "user_code"
    assert page.forms[-1]["method"] == "get" and page.buttons[-1] == "Continue"
    unknown = await web.get("/test/device", params={"user_code": "NOPE-NOPE"})
    assert "That code is unknown or expired." in unknown.text
    known = Page((await web.get("/test/device", params={"user_code": "WDJB-MJHT"})).text)
    assert "Budget (USD)" in known.labels and known.buttons[-2:] == ["Approve", "Deny"]


async def test_an_https_public_url_makes_the_cookie_secure_and_host_prefixed(make_settings, admin_key) -> None:
    app = web_app(make_settings, public_url="https://auth.example")
    async with running(app, admin_key=admin_key) as client:
        cookie = (await client.get("/signin")).headers["set-cookie"]
    assert cookie.startswith("__Host-tollgate_session=") and "Secure" in cookie and "Path=/" in cookie
