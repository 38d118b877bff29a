"""Pushed authorization requests (RFC 9126), written on Authlib: the client authenticates as at the token
endpoint, the request is validated as the authorization endpoint would (client, redirect URI, PKCE, resource,
`authorization_details`), stored, and named by a one-use `request_uri` that expires in a minute. The budget
terms then never travel in a browser URL."""

from __future__ import annotations

import secrets
from datetime import timedelta

from authlib.oauth2.rfc6749.errors import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from tollgate_auth.oauth.details import asked_details
from tollgate_auth.oauth.errors import short_description
from tollgate_auth.oauth.forms import PAR_FORM
from tollgate_auth.oauth.layer import NO_STORE, OAuthLayer
from tollgate_auth.oauth.metadata import AUTHORIZE, PAR
from tollgate_auth.oauth.requests import capture, rebuilt

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
PAR_TTL_SECONDS = 60
CLIENT_AUTH_FIELDS = {"client_secret", "client_assertion", "client_assertion_type"}

router = APIRouter(tags=["oauth"])


def _error(error: OAuth2Error) -> JSONResponse:
    body = {"error": error.error, "error_description": short_description(error.description) or error.error}
    return JSONResponse(body, status_code=error.status_code or 400, headers=NO_STORE)


@router.post(PAR, status_code=201, openapi_extra=PAR_FORM)
async def push_authorization_request(request: Request) -> Response:
    """RFC 9126: the authorization request's parameters, form-encoded, with client authentication; answers
    201 with a one-use `request_uri` for the authorization endpoint and its `expires_in`."""
    layer: OAuthLayer = request.app.state.oauth
    captured = await capture(request, layer.ctx.settings.public_url)
    if "request_uri" in captured.payload.data:
        return _error(OAuth2Error("request_uri: not allowed in a pushed request", error="invalid_request"))
    methods = ["none", "client_secret_basic", "client_secret_post"]
    try:
        client = await layer.ctx.bridge.run(layer.server.authenticate_client, captured, methods, "token")
        params = {k: v for k, v in captured.payload.data.items() if k not in CLIENT_AUTH_FIELDS}
        params["client_id"] = client.get_client_id()
        await layer.run(layer.server.get_consent_grant, rebuilt(layer.ctx.settings.public_url, AUTHORIZE, params))
        asked_details(params)
    except OAuth2Error as error:
        return _error(error)
    request_id = secrets.token_urlsafe(32)
    now = layer.ctx.clock.now()
    expires = now + timedelta(seconds=PAR_TTL_SECONDS)
    await layer.ctx.store().add_pushed(request_id, client.get_client_id(), params, now, expires)
    body = {"request_uri": REQUEST_URI_PREFIX + request_id, "expires_in": PAR_TTL_SECONDS}
    return JSONResponse(body, status_code=201, headers=NO_STORE)
