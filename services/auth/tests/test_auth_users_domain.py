"""Owner accounts' pure rules: emails, roles, passwords, session lifetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tollgate_auth.domain.errors import InvalidRequest
from tollgate_auth.domain.users import (
    Role,
    SessionPolicy,
    SignInLimit,
    check_password,
    new_session,
    normalise_email,
    parse_role,
    retry_after,
    session_live,
    touched,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = SessionPolicy(idle_seconds=600, absolute_seconds=3600, touch_after_seconds=60)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("  ada.lovelace+tollgate@mail.example.org \n", "ada.lovelace+tollgate@mail.example.org"),
        ("o'brien@x-y.example", "o'brien@x-y.example"),
    ],
)
def test_emails_are_trimmed_and_lowercased(typed: str, stored: str) -> None:
    assert normalise_email(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["", "ada", "ada@", "@example.com", "ada@example", "a@b@example.com", "ada @example.com", "ada@-x.example",
     ".ada@example.com", "ada..l@example.com", "ada@exa_mple.com", "a" * 65 + "@example.com",
     "ada@" + "a" * 250 + ".com", '"ada"@example.com', "ada@[127.0.0.1]"],
)  # fmt: skip
def test_anything_but_a_plain_address_is_refused(typed: str) -> None:
    with pytest.raises(InvalidRequest, match="not an email address"):
        normalise_email(typed)


def test_the_four_roles_and_nothing_else() -> None:
    assert [r.value for r in Role] == ["admin", "developer", "user", "read-only"]
    assert parse_role("read-only") is Role.READ_ONLY
    with pytest.raises(InvalidRequest, match="admin, developer, user, read-only"):
        parse_role("root")


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short-pw", "at least 12"),
        ("x" * 1025, "at most 1024"),
        ("ada@example.com", "not be the email"),
        ("ADA@example.com ", "not be the email"),
        ("aaaaaaaaaaaaaaaa", "one character repeated"),
    ],
)
def test_a_weak_password_names_the_rule_and_never_the_password(password: str, rule: str) -> None:
    with pytest.raises(InvalidRequest, match=rule) as caught:
        check_password(password, "ada@example.com")
    assert password.strip() not in caught.value.message


def test_a_long_passphrase_is_fine() -> None:
    check_password("correct horse battery staple", "ada@example.com")


def test_a_session_ends_when_idle_and_at_its_absolute_limit_however_active() -> None:
    session = new_session("h", "usr_1", NOW)
    assert session_live(session, NOW + timedelta(seconds=599), POLICY)
    assert not session_live(session, NOW + timedelta(seconds=600), POLICY)
    active = session
    for minute in range(1, 61):
        active = touched(active, NOW + timedelta(minutes=minute), POLICY) or active
    assert session_live(active, NOW + timedelta(seconds=3599), POLICY)
    assert not session_live(active, NOW + timedelta(seconds=3600), POLICY)


def test_last_seen_is_written_only_when_older_than_a_minute() -> None:
    session = new_session("h", "usr_1", NOW)
    assert touched(session, NOW + timedelta(seconds=59), POLICY) is None
    later = touched(session, NOW + timedelta(seconds=60), POLICY)
    assert later is not None and later.last_seen_at == NOW + timedelta(seconds=60)


def test_sign_ins_wait_once_the_failures_in_the_window_reach_the_limit() -> None:
    limit = SignInLimit(failures=3, window_seconds=600)
    failures = tuple(NOW + timedelta(seconds=s) for s in (0, 100, 200))
    assert retry_after(failures[:2], NOW + timedelta(seconds=300), limit) is None
    assert retry_after(failures, NOW + timedelta(seconds=300), limit) == 301
    assert retry_after(failures, NOW + timedelta(seconds=600), limit) is None  # the first one left the window
