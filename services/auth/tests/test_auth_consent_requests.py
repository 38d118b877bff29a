"""A grant request's lifecycle (pending → approved | denied | expired), device polling answers and user codes."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tollgate_auth.domain.consent import (
    AccessDetails,
    PendingRequest,
    RequestStatus,
    approve,
    deny,
    effective_request_status,
    ensure_approved,
    expire_if_due,
    new_request,
    new_user_code,
    normalize_user_code,
    slow_down,
    too_soon,
)
from tollgate_auth.domain.errors import (
    AccessDenied,
    AuthError,
    AuthorizationPending,
    Conflict,
    RequestDecided,
    RequestExpired,
)
from tollgate_auth.domain.grant_requests import SLOW_DOWN_STEP_SECONDS, USER_CODE_ALPHABET

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ASKED = AccessDetails(provider="openai", models=("gpt-4o-mini",), budget_micro_usd=5_000_000)
GRANTED = AccessDetails(provider="openai", models=("gpt-4o-mini",), budget_micro_usd=1_000_000)


def request(**fields: object) -> PendingRequest:
    arguments: dict[str, object] = {
        "request_id": "req_1",
        "client_id": "cli_1",
        "client_name": "Notes",
        "asked": ASKED,
        "now": NOW,
        **fields,
    }
    return new_request(**arguments)  # type: ignore[arg-type]


def raised(call: Callable[[], object], kind: type[AuthError]) -> AuthError:
    with pytest.raises(kind) as caught:
        call()
    return caught.value


def test_a_new_request_is_pending_for_ten_minutes_by_default():
    req = request(params={"redirect_uri": "http://127.0.0.1:5000/cb", "state": "s"}, tenant_id="tnt_1")
    assert req.status is RequestStatus.PENDING
    assert req.expires_at == NOW + timedelta(minutes=10)
    assert req.params == {"redirect_uri": "http://127.0.0.1:5000/cb", "state": "s"}
    assert req.tenant_id == "tnt_1"
    assert (req.granted, req.grant_id, req.decided_at, req.user_code) == (None, None, None, None)


def test_the_stored_params_cannot_be_changed_through_the_request():
    params = {"state": "s"}
    req = request(params=params)
    params["state"] = "changed"
    assert req.params["state"] == "s"
    with pytest.raises(TypeError):
        req.params["state"] = "x"  # type: ignore[index]


def test_a_custom_lifetime_is_honoured_and_a_nonsense_one_refused():
    assert request(ttl_seconds=60).expires_at == NOW + timedelta(seconds=60)
    with pytest.raises(ValueError):
        request(ttl_seconds=0)


def test_approving_records_what_was_granted_and_the_grant():
    approved = approve(request(), GRANTED, "grt_1", NOW + timedelta(minutes=1))
    assert approved.status is RequestStatus.APPROVED
    assert (approved.granted, approved.grant_id) == (GRANTED, "grt_1")
    assert approved.decided_at == NOW + timedelta(minutes=1)
    assert approved.asked == ASKED
    assert ensure_approved(approved, NOW + timedelta(hours=1)) == "grt_1"


def test_denying_keeps_the_request_on_record():
    denied = deny(request(), NOW + timedelta(minutes=1))
    assert denied.status is RequestStatus.DENIED
    assert denied.decided_at == NOW + timedelta(minutes=1)
    assert denied.grant_id is None
    assert raised(lambda: ensure_approved(denied, NOW), AccessDenied).code == "access_denied"


@pytest.mark.parametrize("first", ["approve", "deny"])
@pytest.mark.parametrize("second", ["approve", "deny"])
def test_a_decision_is_final(first: str, second: str):
    decide = {"approve": lambda r: approve(r, GRANTED, "grt_1", NOW), "deny": lambda r: deny(r, NOW)}
    decided = decide[first](request())
    error = raised(lambda: decide[second](decided), RequestDecided)
    assert error.code == "request_decided"
    assert isinstance(error, Conflict)


@pytest.mark.parametrize("decide", [lambda r, t: approve(r, GRANTED, "grt_1", t), lambda r, t: deny(r, t)])
def test_deciding_at_or_after_the_expiry_is_expired_token(decide: Callable[[PendingRequest, datetime], object]):
    req = request()
    assert decide(req, req.expires_at - timedelta(microseconds=1))  # the last instant still counts
    assert raised(lambda: decide(req, req.expires_at), RequestExpired).code == "expired_token"
    stored_expired = expire_if_due(req, req.expires_at)
    assert stored_expired is not None
    assert raised(lambda: decide(stored_expired, NOW), RequestExpired).code == "expired_token"


def test_a_pending_request_past_its_expiry_is_seen_as_expired_and_expires_once():
    req = request()
    assert effective_request_status(req, req.expires_at - timedelta(seconds=1)) is RequestStatus.PENDING
    assert expire_if_due(req, req.expires_at - timedelta(seconds=1)) is None
    assert effective_request_status(req, req.expires_at) is RequestStatus.EXPIRED
    expired = expire_if_due(req, req.expires_at + timedelta(hours=1))
    assert expired is not None
    assert expired.status is RequestStatus.EXPIRED
    assert expired.decided_at == req.expires_at
    assert expire_if_due(expired, req.expires_at + timedelta(hours=2)) is None


def test_decided_requests_never_expire():
    approved = approve(request(), GRANTED, "grt_1", NOW)
    assert expire_if_due(approved, NOW + timedelta(days=1)) is None
    assert effective_request_status(approved, NOW + timedelta(days=1)) is RequestStatus.APPROVED
    assert expire_if_due(deny(request(), NOW), NOW + timedelta(days=1)) is None


def test_polling_answers_follow_rfc_8628():
    req = request()
    assert raised(lambda: ensure_approved(req, NOW), AuthorizationPending).code == "authorization_pending"
    assert raised(lambda: ensure_approved(req, req.expires_at), RequestExpired).code == "expired_token"


def test_polling_faster_than_the_interval_is_too_soon():
    assert not too_soon(None, 5, NOW)
    assert too_soon(NOW, 5, NOW + timedelta(seconds=4.9))
    assert not too_soon(NOW, 5, NOW + timedelta(seconds=5))
    error = slow_down("req_1", 5 + SLOW_DOWN_STEP_SECONDS)
    assert error.code == "slow_down"
    assert "10 seconds" in error.message


def counting_bytes(start: int = 0) -> Callable[[int], bytes]:
    counter = itertools.count(start)
    return lambda n: bytes(next(counter) % 256 for _ in range(n))


def test_user_codes_are_eight_consonants_shown_in_two_groups():
    code = new_user_code(counting_bytes())
    assert code == "BCDF-GHJK"
    assert len(code) == 9
    assert code[4] == "-"
    assert all(ch in USER_CODE_ALPHABET for ch in code.replace("-", ""))
    assert set(USER_CODE_ALPHABET).isdisjoint("AEIOUY0123456789")


def test_bytes_that_would_bias_the_code_are_redrawn():
    # 240..255 would favour the first 16 letters; they are skipped, not folded in.
    assert new_user_code(counting_bytes(236)) == "VWXZ-BCDF"


def test_a_source_that_never_gives_usable_bytes_is_an_error_not_a_hang():
    with pytest.raises(ValueError):
        new_user_code(lambda n: b"\xff" * n)


def test_user_codes_are_spread_over_the_whole_alphabet():
    seen = {ch for _ in range(200) for ch in new_user_code(os.urandom).replace("-", "")}
    assert seen == set(USER_CODE_ALPHABET)


@pytest.mark.parametrize("typed", ["BCDF-GHJK", "bcdf-ghjk", "bcdfghjk", " BCDF GHJK ", "bc-df-gh-jk", "BcDf\tGhJk"])
def test_typed_user_codes_are_normalised(typed: str):
    assert normalize_user_code(typed) == "BCDF-GHJK"


@pytest.mark.parametrize("typed", ["", "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJA", "BCDF-GHJ1", "BCDF_GHJK", "-" * 100])
def test_what_cannot_be_a_user_code_is_none(typed: str):
    assert normalize_user_code(typed) is None


def test_a_generated_code_is_its_own_normal_form():
    code = new_user_code(os.urandom)
    assert normalize_user_code(code) == code
    assert normalize_user_code(code.lower().replace("-", " ")) == code
