"""The OAuth endpoints on FastAPI: metadata, registration, the token endpoint and PAR; `authorize.py` has the
authorization endpoint and the consent decision."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from tollgate_auth.oauth.forms import DEVICE_FORM, REGISTER_BODY, TOKEN_FORM, TOKEN_ONLY_FORM
from tollgate_auth.oauth.layer import NO_STORE, OAuthLayer, to_response
from tollgate_auth.oauth.metadata import DEVICE_AUTHORIZATION, INTROSPECT, REGISTER, REVOKE, TOKEN, WELL_KNOWN
from tollgate_auth.oauth.requests import CapturedJsonRequest, capture, public_uri

router = APIRouter(tags=["oauth"])


def layer_of(request: Request) -> OAuthLayer:
    layer: OAuthLayer = request.app.state.oauth
    return layer


@router.get(WELL_KNOWN)
async def authorization_server_metadata(request: Request) -> JSONResponse:
    """RFC 8414 metadata: where every endpoint is and what this server supports."""
    return JSONResponse(layer_of(request).metadata, headers={"Cache-Control": "public, max-age=300"})


@router.post(REGISTER, status_code=201, openapi_extra=REGISTER_BODY)
async def register_client(request: Request) -> Response:
    """RFC 7591 dynamic client registration (JSON client metadata in, the client's id and metadata out)."""
    layer = layer_of(request)
    if not layer.registration_allowed(request.headers.get("authorization")):
        # RFC 7591 §3 with an initial access token: an RFC 6750 answer (the admin key is that token).
        body = {"error": "invalid_token", "error_description": "registration here needs the admin key as a bearer"}
        headers = {**NO_STORE, "WWW-Authenticate": 'Bearer error="invalid_token"'}
        return JSONResponse(body, status_code=401, headers=headers)
    try:
        data: Any = json.loads(await request.body() or b"null")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        body = {"error": "invalid_client_metadata", "error_description": "the body must be a JSON object"}
        return JSONResponse(body, status_code=400, headers=NO_STORE)
    json_request = CapturedJsonRequest(
        "POST", public_uri(layer.ctx.settings.public_url, request), request.headers, data
    )
    answer = await layer.run(layer.server.create_endpoint_response, "client_registration", json_request)
    return to_response(answer)


@router.post(TOKEN, openapi_extra=TOKEN_FORM)
async def token(request: Request) -> Response:
    """RFC 6749 §3.2 token endpoint (form-encoded): authorization_code (PKCE S256), refresh_token (rotated),
    the RFC 8628 device_code, client_credentials. The access token is an RFC 9068 `at+jwt`; the answer adds
    `grant_id` and the granted `authorization_details`."""
    layer = layer_of(request)
    captured = await capture(request, layer.ctx.settings.public_url)
    return to_response(await layer.run(layer.server.create_token_response, captured))


@router.post(REVOKE, openapi_extra=TOKEN_ONLY_FORM)
async def revoke(request: Request) -> Response:
    """RFC 7009 revocation of an access or refresh token issued to the calling client (200 even if unknown)."""
    layer = layer_of(request)
    captured = await capture(request, layer.ctx.settings.public_url)
    return to_response(await layer.run(layer.server.create_endpoint_response, "revocation", captured))


@router.post(INTROSPECT, openapi_extra=TOKEN_ONLY_FORM)
async def introspect(request: Request) -> Response:
    """RFC 7662 introspection of a token issued to the calling client."""
    layer = layer_of(request)
    captured = await capture(request, layer.ctx.settings.public_url)
    return to_response(await layer.run(layer.server.create_endpoint_response, "introspection", captured))


@router.post(DEVICE_AUTHORIZATION, openapi_extra=DEVICE_FORM)
async def device_authorization(request: Request) -> Response:
    """RFC 8628 §3.1: a device code, a user code and where the owner enters it."""
    layer = layer_of(request)
    captured = await capture(request, layer.ctx.settings.public_url)
    return to_response(await layer.run(layer.server.create_endpoint_response, "device_authorization", captured))
