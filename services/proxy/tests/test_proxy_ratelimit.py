"""The per-grant request and token windows, driven by an explicit clock, and how they are told to clients."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tollgate_proxy.domain.dialects import Dialect, duration, error_body, error_headers, rate_limit_headers
from tollgate_proxy.domain.errors import RateLimited
from tollgate_proxy.domain.ratelimit import Quota, RateLimiter, RateStatus

T0 = 1000.0


def refusal(
    limiter: RateLimiter, now: float, rpm: int | None = None, tpm: int | None = None, grant_id: str = "grt_1"
) -> RateLimited:
    with pytest.raises(RateLimited) as caught:
        limiter.admit(grant_id, rpm, tpm, now)
    return caught.value


def test_a_full_minute_of_requests_may_come_at_once_and_the_next_waits_for_the_window_to_slide() -> None:
    limiter = RateLimiter()
    remaining = [limiter.admit("grt_1", 3, None, T0).requests for _ in range(3)]
    assert [q.remaining for q in remaining if q is not None] == [2, 1, 0]
    refused = refusal(limiter, T0, rpm=3)
    assert (refused.kind, refused.retry_after, refused.status) == ("requests", 20, 429)
    assert refused.rates.requests == Quota(limit=3, remaining=0, reset_seconds=60.0)


def test_the_window_refills_continuously_one_request_per_interval() -> None:
    limiter = RateLimiter()
    for _ in range(3):
        limiter.admit("grt_1", 3, None, T0)
    refusal(limiter, T0 + 19.999, rpm=3)  # the edge of the window: not yet
    assert limiter.admit("grt_1", 3, None, T0 + 20).requests == Quota(3, 0, 60.0)
    refusal(limiter, T0 + 20, rpm=3)
    status = limiter.status("grt_1", 3, None, T0 + 80)
    assert status.requests == Quota(3, 3, 0.0)


def test_a_refused_request_is_not_counted() -> None:
    limiter = RateLimiter()
    limiter.admit("grt_1", 1, None, T0)
    for second in range(59):
        refusal(limiter, T0 + second, rpm=1)
    limiter.admit("grt_1", 1, None, T0 + 60)


def test_limits_that_do_not_divide_the_minute_still_allow_exactly_rpm_at_once() -> None:
    limiter = RateLimiter()
    for _ in range(7):
        limiter.admit("grt_1", 7, None, T0)
    assert refusal(limiter, T0, rpm=7).retry_after == 9  # 60/7 = 8.57 s, rounded up


def test_grants_have_windows_of_their_own() -> None:
    limiter = RateLimiter()
    limiter.admit("grt_1", 1, None, T0)
    limiter.admit("grt_2", 1, None, T0)
    refusal(limiter, T0, rpm=1)


def test_tokens_are_counted_after_the_answer_and_refuse_once_the_window_is_full() -> None:
    limiter = RateLimiter()
    assert limiter.admit("grt_1", None, 100, T0).tokens == Quota(100, 100, 0.0)
    limiter.spend("grt_1", 100, 60, T0)
    assert limiter.admit("grt_1", None, 100, T0).tokens == Quota(100, 40, 36.0)
    limiter.spend("grt_1", 100, 40, T0)  # exactly the limit: "at or over" refuses
    refused = refusal(limiter, T0, tpm=100)
    assert (refused.kind, refused.retry_after) == ("tokens", 1)
    assert refused.rates.tokens == Quota(100, 0, 60.0)
    refusal(limiter, T0 + 0.5, tpm=100)  # 99.2 tokens in the window: not one whole token left
    later = limiter.admit("grt_1", None, 100, T0 + 0.6).tokens
    assert later is not None
    assert (later.remaining, later.reset_seconds) == (1, pytest.approx(59.4))


def test_an_overshoot_is_paid_back_by_waiting() -> None:
    limiter = RateLimiter()
    limiter.admit("grt_1", None, 10, T0)
    limiter.spend("grt_1", 10, 15, T0)  # one call used a minute and a half's worth
    refused = refusal(limiter, T0, tpm=10)
    assert refused.retry_after == 36  # the window holds 15 tokens, draining at 10 a minute: 9 after 36 s
    refusal(limiter, T0 + 35.9, tpm=10)
    later = limiter.admit("grt_1", None, 10, T0 + 36).tokens
    assert later is not None
    assert (later.remaining, later.reset_seconds) == (1, pytest.approx(54.0))


def test_request_and_token_limits_together() -> None:
    limiter = RateLimiter()
    status = limiter.admit("grt_1", 2, 1000, T0)
    assert status == RateStatus(requests=Quota(2, 1, 30.0), tokens=Quota(1000, 1000, 0.0))
    limiter.spend("grt_1", 1000, 1000, T0)
    assert refusal(limiter, T0, rpm=2, tpm=1000).kind == "tokens"
    assert limiter.status("grt_1", 2, 1000, T0).requests == Quota(2, 1, 30.0)  # the refusal counted nothing


def test_spending_nothing_leaves_no_state() -> None:
    limiter = RateLimiter()
    limiter.spend("grt_1", 10, 0, T0)
    assert len(limiter) == 0


def test_drained_windows_are_evicted() -> None:
    limiter = RateLimiter()
    limiter.admit("grt_1", 60, None, T0)  # drains in one second
    limiter.admit("grt_2", None, 10, T0)
    limiter.spend("grt_2", 10, 20, T0)  # drains in two minutes
    assert limiter.evict(T0 + 1) == 1
    assert len(limiter) == 1
    assert limiter.evict(T0 + 120) == 1
    assert len(limiter) == 0


def test_new_grants_sweep_out_idle_ones_so_memory_stays_bounded() -> None:
    limiter = RateLimiter(sweep_every=100)
    for n in range(10_000):
        limiter.admit(f"grt_{n}", 60, None, T0 + n)  # each window drains after a second
    assert len(limiter) <= 100


def test_a_flood_of_active_grants_is_capped_by_forgetting_the_least_recent() -> None:
    limiter = RateLimiter(max_grants=10)
    for n in range(50):
        limiter.admit(f"grt_{n}", 1, None, T0)
    assert len(limiter) == 10
    limiter.admit("grt_0", 1, None, T0)  # forgotten, so admitted again
    refusal(limiter, T0, rpm=1, grant_id="grt_49")  # the most recent ones are still held


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.0004, "1ms"), (0.25, "250ms"), (1, "1s"), (8.571428, "8.572s"), (60, "1m0s"), (3723, "1h2m3s")],
)
def test_reset_durations_are_written_the_way_openai_writes_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


RATES = RateStatus(requests=Quota(3, 2, 20.0), tokens=Quota(1000, 900, 5.5))
NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def test_openai_routes_get_openais_rate_limit_headers() -> None:
    assert dict(rate_limit_headers(Dialect.OPENAI, RATES, NOW)) == {
        b"x-ratelimit-limit-requests": b"3",
        b"x-ratelimit-remaining-requests": b"2",
        b"x-ratelimit-reset-requests": b"20s",
        b"x-ratelimit-limit-tokens": b"1000",
        b"x-ratelimit-remaining-tokens": b"900",
        b"x-ratelimit-reset-tokens": b"5.5s",
    }


def test_anthropic_routes_get_anthropics_rate_limit_headers_with_rfc3339_resets() -> None:
    assert dict(rate_limit_headers(Dialect.ANTHROPIC, RATES, NOW + 0.25)) == {
        b"anthropic-ratelimit-requests-limit": b"3",
        b"anthropic-ratelimit-requests-remaining": b"2",
        b"anthropic-ratelimit-requests-reset": b"2026-01-01T12:00:21Z",
        b"anthropic-ratelimit-tokens-limit": b"1000",
        b"anthropic-ratelimit-tokens-remaining": b"900",
        b"anthropic-ratelimit-tokens-reset": b"2026-01-01T12:00:06Z",
    }


def test_only_the_limits_a_grant_has_are_told() -> None:
    headers = rate_limit_headers(Dialect.OPENAI, RateStatus(requests=None, tokens=Quota(10, 10, 0.0)), NOW)
    assert [name for name, _ in headers] == [
        b"x-ratelimit-limit-tokens",
        b"x-ratelimit-remaining-tokens",
        b"x-ratelimit-reset-tokens",
    ]


def test_a_rate_limit_refusal_in_each_dialect() -> None:
    error = RateLimited("tokens", "rate limit reached", retry_after=7, rates=RATES)
    assert json.loads(error_body(Dialect.OPENAI, error))["error"] == {
        "message": "rate limit reached",
        "type": "tokens",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert json.loads(error_body(Dialect.ANTHROPIC, error))["error"]["type"] == "rate_limit_error"
    headers = dict(error_headers(error))
    assert headers[b"retry-after"] == b"7"
    assert b"x-should-retry" not in headers  # waiting fixes it: the SDKs may retry
