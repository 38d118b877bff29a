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
