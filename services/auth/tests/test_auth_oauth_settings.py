"""The OAuth settings: the issuer is auth's public URL, the audience the proxy's canonical URL."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tollgate_auth.oauth.metadata import server_metadata
from tollgate_auth.settings import Settings


def test_issuer_and_audience_default_to_the_public_url_and_the_resource() -> None:
    settings = Settings()
    assert (settings.public_url, settings.issuer) == ("http://127.0.0.1:8081", "http://127.0.0.1:8081")
    assert (settings.resource, settings.audience) == ("http://127.0.0.1:8080", "http://127.0.0.1:8080")
    assert (settings.registration, settings.require_par, settings.client_metadata_loopback) == ("open", False, False)


def test_the_urls_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_AUTH_PUBLIC_URL", "https://auth.example/")
    monkeypatch.setenv("TOLLGATE_AUTH_RESOURCE", "https://gw.example")
    monkeypatch.setenv("TOLLGATE_AUTH_REGISTRATION", "admin")
    settings = Settings()
    assert (settings.issuer, settings.audience, settings.registration) == (
        "https://auth.example",
        "https://gw.example",
        "admin",
    )


def test_an_explicit_issuer_still_wins() -> None:
    settings = Settings(issuer="tollgate", audience="tollgate-proxy")
    assert (settings.issuer, settings.audience) == ("tollgate", "tollgate-proxy")


def test_registration_is_open_or_admin() -> None:
    with pytest.raises(ValueError, match="registration"):
        Settings(registration="closed")  # type: ignore[arg-type]


def test_the_metadata_of_an_https_deployment_passes_authlibs_rfc_8414_checks() -> None:
    metadata = server_metadata(Settings(public_url="https://auth.example", resource="https://gw.example"))
    AuthorizationServerMetadata(metadata).validate()
    assert metadata["issuer"] == "https://auth.example"
    assert all(
        metadata[name].startswith("https://auth.example/")
        for name in ("authorization_endpoint", "token_endpoint", "registration_endpoint", "jwks_uri")
    )
