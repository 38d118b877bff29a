"""Reading the credential and the few other headers the proxy cares about."""

from __future__ import annotations

import pytest

from tollgate_proxy.api.credentials import read_headers
from tollgate_proxy.domain.errors import InvalidRequest


def test_bearer_is_preferred_over_x_api_key() -> None:
    headers = read_headers([(b"x-api-key", b"tg_b"), (b"authorization", b"Bearer tg_a")])
    assert headers.credential == "tg_a"


def test_x_api_key_alone_is_enough() -> None:
    assert read_headers([(b"x-api-key", b" tg_b ")]).credential == "tg_b"


def test_a_non_bearer_authorization_falls_back_to_x_api_key() -> None:
    assert read_headers([(b"authorization", b"Basic abc"), (b"x-api-key", b"tg_b")]).credential == "tg_b"
    assert read_headers([(b"authorization", b"bearer   tok")]).credential == "tok"
    assert read_headers([(b"authorization", b"Bearer ")]).credential is None
    assert read_headers([]).credential is None


def test_content_length_and_pass_through_headers() -> None:
    headers = read_headers(
        [
            (b"content-length", b"42"),
            (b"anthropic-version", b"2023-06-01"),
            (b"anthropic-beta", b"tools"),
            (b"cookie", b"secret=1"),
        ]
    )
    assert headers.content_length == 42
    assert headers.passed_through == {"anthropic-version": "2023-06-01", "anthropic-beta": "tools"}


def test_a_malformed_content_length_is_a_bad_request() -> None:
    with pytest.raises(InvalidRequest):
        read_headers([(b"content-length", b"lots")])
