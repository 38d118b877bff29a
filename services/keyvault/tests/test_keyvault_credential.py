"""The rules for accepting a credential: defaults, normalisation, and refusals that never echo the key."""

from __future__ import annotations

import pytest

from tollgate_keyvault.domain.credential import ApiStyle, new_credential, normalise_base_url
from tollgate_keyvault.domain.errors import InvalidInput

KEY = "sk-live-secret-value-1234"


def test_openai_and_anthropic_get_their_default_roots_and_styles() -> None:
    openai = new_credential("tnt_1", "openai", KEY)
    anthropic = new_credential("tnt_1", "Anthropic", KEY)
    assert (openai.base_url, openai.api_style) == ("https://api.openai.com", ApiStyle.OPENAI)
    assert (anthropic.provider, anthropic.base_url, anthropic.api_style) == (
        "anthropic",
        "https://api.anthropic.com",
        ApiStyle.ANTHROPIC,
    )


def test_a_custom_provider_needs_a_base_url_and_speaks_openai_by_default() -> None:
    with pytest.raises(InvalidInput, match="base_url is required"):
        new_credential("tnt_1", "groq", KEY)
    custom = new_credential("tnt_1", "groq", KEY, base_url="https://api.groq.com/openai/")
    assert (custom.base_url, custom.api_style) == ("https://api.groq.com/openai", ApiStyle.OPENAI)


def test_an_explicit_api_style_wins_over_the_providers_default() -> None:
    assert new_credential("tnt_1", "proxyco", KEY, "http://127.0.0.1:8090", "anthropic").api_style is ApiStyle.ANTHROPIC
    with pytest.raises(InvalidInput, match="api_style"):
        new_credential("tnt_1", "openai", KEY, api_style="grpc")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com"),
        ("https://api.openai.com/v1/", "https://api.openai.com"),
        ("http://127.0.0.1:8090/", "http://127.0.0.1:8090"),
        ("https://gateway.example/openai/v1", "https://gateway.example/openai"),
    ],
)
def test_base_urls_are_stored_as_roots_without_v1(given: str, stored: str) -> None:
    assert normalise_base_url(given) == stored


@pytest.mark.parametrize("bad", ["ftp://x", "api.openai.com", "https://user:pw@host", "https://h/?q=1"])
def test_base_urls_that_are_not_plain_http_roots_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_base_url(bad)


def test_last4_is_shown_only_for_keys_long_enough_to_hide() -> None:
    assert new_credential("tnt_1", "openai", KEY).last4 == "1234"
    assert new_credential("tnt_1", "openai", "short12").last4 == ""


@pytest.mark.parametrize("bad", ["", "   ", "sk live", "sk-\x00-x"])
def test_unusable_keys_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        new_credential("tnt_1", "openai", bad)
    assert "api_key" in str(caught.value)
    if bad.strip():
        assert bad not in str(caught.value)


def test_surrounding_whitespace_is_trimmed_from_a_pasted_key() -> None:
    assert new_credential("tnt_1", "openai", f"  {KEY}\n").api_key == KEY


def test_a_new_credential_never_shows_its_key_in_repr() -> None:
    assert KEY not in repr(new_credential("tnt_1", "openai", KEY))


@pytest.mark.parametrize("provider", ["", "Open AI", "a.b", "x" * 65])
def test_provider_names_must_be_plain_tokens(provider: str) -> None:
    with pytest.raises(InvalidInput, match="provider"):
        new_credential("tnt_1", provider, KEY)
