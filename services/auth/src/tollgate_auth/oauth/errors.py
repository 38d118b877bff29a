"""OAuth errors Authlib has no class for."""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import OAuth2Error


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8707 §2: the `resource` is not one this server issues tokens for."""

    error = "invalid_target"
    status_code = 400


class InvalidAuthorizationDetailsError(OAuth2Error):  # type: ignore[misc]
    """RFC 9396 §5: `authorization_details` is malformed or asks for what this server does not know."""

    error = "invalid_authorization_details"
    status_code = 400


class ExpiredRequestError(OAuth2Error):  # type: ignore[misc]
    """The authorization request waited longer than allowed for the owner's decision (or its `request_uri` died)."""

    error = "invalid_request"
    status_code = 400


MAX_DESCRIPTION = 120


def short_description(description: str | None) -> str | None:
    """An error_description as sent: Authlib quotes submitted values (a redirect URI, a response type) in some,
    so at most a short prefix of them goes back (an attacker's page of text would read as the server's)."""
    if description is None or len(description) <= MAX_DESCRIPTION:
        return description
    return description[: MAX_DESCRIPTION - 3] + "..."
