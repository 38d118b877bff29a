"""The pages in a real Chromium (Debian's, driven by Playwright): sign-in by accessible names, the CSP the browser
gets, a CSRF-less post refused, and the consent page narrowed and approved at phone width, by keyboard."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tollgate_auth.app import create_app
from tollgate_servicekit.testing import eventually

from .conftest import serving
from .test_auth_web_pages import CSP, PASSWORD, VIEW, add_test_consent

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}


@pytest.fixture
async def site(make_settings, admin_key):
    """Auth on real HTTP with the test consent route; its redirect URI is another origin (localhost) of the same
    server, so the approval's redirect crosses origins as a real app's does."""
    app = create_app(make_settings(password_hash_time_cost=1, password_hash_memory_kib=64))
    add_test_consent(app, VIEW)
    async with serving(app) as base:
        port = base.rsplit(":", 1)[1]
        app.state.test_redirect = f"http://localhost:{port}/cb"
        import httpx

        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {admin_key}"}) as admin:
            made = await admin.post("/v1/users", json={"email": "owner@example.com", "password": PASSWORD})
            assert made.status_code == 201, made.text
        yield base, app.state.test_redirect


async def test_an_owner_signs_in_narrows_the_budget_and_approves_in_chromium(browser: Any, site) -> None:
    base, redirect = site
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    signin = await page.goto(f"{base}/test/consent")
    assert signin is not None and "/signin?next=" in page.url
    assert await signin.header_value("content-security-policy") == CSP
    assert await signin.header_value("x-content-type-options") == "nosniff"
    await page.get_by_label("Email").fill("owner@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/test/consent")

    await page.get_by_text("Notes Summariser").first.wait_for()
    assert await page.get_by_text("Verified domain: notes.example").is_visible()
    assert await page.get_by_text("Summarise your notes every night").is_visible()
    assert await page.get_by_text("$5 per day").is_visible()
    budget = page.get_by_label("Budget (USD)")
    assert await budget.input_value() == "5"
    assert await page.get_by_label("Max requests").input_value() == "1000"
    assert await page.get_by_role("button", name="Approve").is_visible()
    assert await page.get_by_role("button", name="Deny").is_visible()
    # Phone width: nothing is wider than the screen, and the stylesheet applied under the CSP.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    colour = await page.get_by_role("button", name="Approve").evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(11, 92, 173)"

    # By keyboard: the budget, then Tab through the fields after it (each one reached) to Approve, and Enter.
    await budget.fill("1.25")
    reached = []
    while len(reached) < 10 and (focused := await page.evaluate("document.activeElement.textContent")) != "Approve":
        await page.keyboard.press("Tab")
        reached.append(await page.evaluate("document.activeElement.id || document.activeElement.textContent"))
    assert reached == ["budget_period", "max_requests", "rpm", "tpm", "expires_in", "Approve"], focused
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(re.escape(redirect) + r"\?"))
    assert "decision=approve&budget=1250000" in page.url
    assert await page.get_by_text("the app got decision=approve").is_visible()
    assert violations == []
    await context.close()


async def test_chromium_gets_a_403_page_for_a_consent_form_without_its_csrf_token(browser: Any, site) -> None:
    base, _ = site
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/signin")
    await page.get_by_label("Email").fill("owner@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", name="Signed in").wait_for()
    await page.goto(f"{base}/test/consent")
    await page.locator("input[name=csrf]").evaluate_all("inputs => inputs.forEach(i => i.remove())")
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.get_by_role("button", name="Approve").click()
    answer = await posted.value
    assert answer.status == 403
    assert await answer.header_value("content-security-policy") == CSP
    await eventually(lambda: page.get_by_role("heading", name="Form refused").is_visible(), what="the 403 page")
    await context.close()


async def test_a_wrong_password_shows_one_generic_message(browser: Any, site) -> None:
    base, _ = site
    page = await browser.new_page()
    await page.goto(f"{base}/signin")
    await page.get_by_label("Email").fill("owner@example.com")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").wait_for()
    assert await page.get_by_role("alert").inner_text() == "Wrong email or password."
    assert await page.get_by_label("Email").input_value() == "owner@example.com"
    await page.close()
