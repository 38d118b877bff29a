"""The pages' pure parts: the consent form read back, CSP sources, local `next` paths, the packaged files."""

from __future__ import annotations

from importlib.resources import files

import pytest

from tollgate_auth.domain.consent import BudgetPeriod, Decision, OwnerChoice
from tollgate_auth.web.forms import InvalidChoice, format_duration, parse_consent_form, parse_duration
from tollgate_auth.web.pages import form_source, security_headers
from tollgate_auth.web.session import Owner, local_path
from tollgate_contracts import Capability


def test_approve_reads_every_narrowing_field() -> None:
    form = {
        "decision": "approve",
        "csrf": "t",
        "request_id": "req_1",
        "budget_usd": " 2.50 ",
        "max_requests": "100",
        "expires_in": "7d",
        "models_present": "1",
        "model_1": "gpt-4.1-*",
        "model_0": "gpt-4o-mini",
    }
    decision, choice = parse_consent_form(form)
    assert decision is Decision.APPROVE
    assert choice == OwnerChoice(
        models=("gpt-4o-mini", "gpt-4.1-*"), budget_micro_usd=2_500_000, max_requests=100, expires_in_seconds=604_800
    )


def test_capabilities_period_and_rates_are_read_too() -> None:
    form = {
        "decision": "approve",
        "capabilities_present": "1",
        "capability_0": "chat",
        "budget_period": "total",
        "rpm": "30",
        "tpm": "20000",
    }
    _, choice = parse_consent_form(form)
    assert choice == OwnerChoice(capabilities=(Capability.CHAT,), budget_period=BudgetPeriod.TOTAL, rpm=30, tpm=20_000)


def test_empty_fields_keep_what_was_asked() -> None:
    assert parse_consent_form({"decision": "approve", "budget_usd": "", "expires_in": " "}) == (
        Decision.APPROVE,
        OwnerChoice(),
    )


def test_provider_and_typed_models_when_the_request_named_none() -> None:
    _, choice = parse_consent_form(
        {"decision": "approve", "provider": "OpenAI", "models": "gpt-4o-mini, o3-*  gpt-4o-mini"}
    )
    assert (choice.provider, choice.models) == ("openai", ("gpt-4o-mini", "o3-*"))


def test_deny_reads_nothing_else() -> None:
    assert parse_consent_form({"decision": "deny", "budget_usd": "lots"}) == (Decision.DENY, OwnerChoice())


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({}, "Approve or Deny"),
        ({"decision": "maybe"}, "Approve or Deny"),
        ({"decision": "approve", "budget_usd": "five"}, "not an amount"),
        ({"decision": "approve", "budget_usd": "-1"}, "not an amount"),
        ({"decision": "approve", "budget_usd": "0.0000001"}, "not an amount"),
        ({"decision": "approve", "max_requests": "0"}, "above zero"),
        ({"decision": "approve", "max_requests": "1e3"}, "above zero"),
        ({"decision": "approve", "expires_in": "forever"}, "not a duration"),
        ({"decision": "approve", "expires_in": "0d"}, "not a duration"),
        ({"decision": "approve", "models_present": "1"}, "at least one model"),
        ({"decision": "approve", "capabilities_present": "1"}, "at least one capability"),
        ({"decision": "approve", "capability_0": "telepathy"}, "unknown capability"),
        ({"decision": "approve", "budget_period": "week"}, "not a budget period"),
        ({"decision": "approve", "rpm": "-5"}, "requests per minute above zero"),
        ({"decision": "approve", "tpm": "lots"}, "tokens per minute above zero"),
    ],
)
def test_unreadable_fields_are_invalid_choice_with_a_message_for_the_page(form, says) -> None:
    with pytest.raises(InvalidChoice, match=says):
        parse_consent_form(form)


def test_durations_read_and_written() -> None:
    assert [parse_duration(t) for t in ("90s", "15m", "12h", "30d", "3600")] == [90, 900, 43_200, 2_592_000, 3600]
    assert [format_duration(s) for s in (604_800, 5400, 7200, 61)] == ["7d", "90m", "2h", "61s"]


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("http://127.0.0.1:53124/callback?x=1", "http://127.0.0.1:53124"),
        ("https://App.Example/cb", "https://app.example"),
        ("http://[::1]:8000/cb", "http://[::1]:8000"),
        ("com.example.notes:/oauth2redirect", "com.example.notes:"),
        ("https://a.example;script-src */cb", None),
        ("https://a.example 'unsafe-inline'/", None),
        ("http://:80/", None),
        ("not a url", None),
    ],
)
def test_a_redirect_uri_becomes_a_form_action_source_or_nothing(url, source) -> None:
    assert form_source(url) == source


def test_the_csp_is_strict_and_names_only_the_redirect_origin() -> None:
    headers = security_headers(["http://127.0.0.1:5000/cb", "https://evil.example;x"])
    assert headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' http://127.0.0.1:5000; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    assert (headers["X-Content-Type-Options"], headers["Referrer-Policy"], headers["Cache-Control"]) == (
        "nosniff",
        "no-referrer",
        "no-store",
    )


@pytest.mark.parametrize("value", ["/oauth/authorize?x=1", "/", "/a/b#c"])
def test_local_paths_are_kept(value) -> None:
    assert local_path(value) == value


@pytest.mark.parametrize(
    "value",
    [None, "", "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "evil",
     "/\tx", "http:/x"],
)  # fmt: skip
def test_anything_else_is_not_a_next_target(value) -> None:
    assert local_path(value) is None


def test_templates_and_stylesheet_ship_inside_the_package() -> None:
    web = files("tollgate_auth.web")
    for name in ("base.html", "signin.html", "consent.html", "_consent_form.html", "device.html", "error.html"):
        assert web.joinpath("templates", name).is_file(), name
    css = web.joinpath("static", "tollgate.css").read_text()
    assert "@media" in css and "max-width" in css


def test_every_role_but_read_only_may_consent() -> None:
    roles = ("admin", "developer", "user", "read-only")
    assert [Owner("usr_1", "a@example.com", "tnt_1", r).may_consent for r in roles] == [True, True, True, False]
